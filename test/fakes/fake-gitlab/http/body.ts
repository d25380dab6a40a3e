import type { IncomingMessage } from 'node:http';
import type { Incoming } from './types.ts';

const MAX_BODY_BYTES = 25 * 1024 * 1024;

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Form fields; `key[]` collects arrays (scopes[]=api&scopes[]=read_api). */
export function formToObject(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (key.endsWith('[]')) {
      const name = key.slice(0, -2);
      const list = Array.isArray(out[name]) ? (out[name] as unknown[]) : [];
      out[name] = [...list, value];
    } else {
      out[key] = value;
    }
  }
  return out;
}

export async function readIncoming(req: IncomingMessage, baseUrl: string): Promise<Incoming> {
  const target = req.url ?? '/';
  const url = new URL(target, baseUrl);
  const rawPath = target.split('?')[0] ?? '/';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = value;
  const bodyText = await readText(req);
  const contentType = (headers['content-type'] ?? '').toLowerCase();
  let body: unknown;
  let bodyError: string | null = null;
  if (bodyText === '') {
    body = undefined;
  } else if (contentType.includes('application/json')) {
    try {
      body = JSON.parse(bodyText) as unknown;
    } catch (error) {
      body = bodyText;
      bodyError = error instanceof Error ? error.message : String(error);
    }
  } else if (contentType.includes('application/x-www-form-urlencoded')) {
    body = formToObject(new URLSearchParams(bodyText));
  } else {
    body = bodyText;
  }
  const objectBody =
    body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    rawPath,
    url,
    query,
    headers,
    bodyText,
    body,
    params: { ...formToObject(url.searchParams), ...objectBody },
    bodyError,
  };
}
