import type { z } from 'zod';

/** The outcome of one API call made by the CLI: parsed data, or why not (never throws for HTTP failures). */
export type ApiResult<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  | { ok: false; status: number | 'network' | 'timeout'; message: string; headers?: Headers };

/** One JSON request with a timeout; the answer is parsed with `schema` (only the fields the CLI uses). */
export async function requestJson<T>(
  url: string,
  init: RequestInit & { schema: z.ZodType<T>; timeoutMs?: number },
): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) });
  } catch (error) {
    const name = (error as Error).name;
    const timeout = name === 'TimeoutError' || name === 'AbortError';
    return {
      ok: false,
      status: timeout ? 'timeout' : 'network',
      message: timeout ? 'no answer in time' : causeOf(error),
    };
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the raw text explains a failure below
  }
  if (!response.ok)
    return {
      ok: false,
      status: response.status,
      message: messageOf(body) ?? (text.slice(0, 200) || `HTTP ${response.status}`),
      headers: response.headers,
    };
  const parsed = init.schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      status: response.status,
      message: `unexpected answer (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
      headers: response.headers,
    };
  }
  return { ok: true, status: response.status, data: parsed.data, headers: response.headers };
}

function messageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { message?: unknown; error?: unknown; error_description?: unknown };
  const picked = b.error_description ?? b.message ?? b.error;
  if (picked === undefined) return undefined;
  return typeof picked === 'string' ? picked : JSON.stringify(picked);
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** GitLab REST v4 with a private token. */
export function gitlabApi(baseUrl: string, token: string) {
  const root = `${baseUrl.replace(/\/+$/, '')}/api/v4/`;
  const headers = { 'PRIVATE-TOKEN': token, Accept: 'application/json' };
  return {
    get: <T>(path: string, schema: z.ZodType<T>) =>
      requestJson(new URL(path, root).href, { method: 'GET', headers, schema }),
    send: <T>(method: 'POST' | 'PUT', path: string, body: Record<string, unknown>, schema: z.ZodType<T>) =>
      requestJson(new URL(path, root).href, {
        method,
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        schema,
      }),
  };
}
export type GitLabApi = ReturnType<typeof gitlabApi>;

/** A project or group as the API wants it in a path: numeric id, or the URL-encoded full path. */
export function encodeId(idOrPath: string): string {
  return /^\d+$/.test(idOrPath) ? idOrPath : encodeURIComponent(idOrPath.replace(/^\/+|\/+$/g, ''));
}

/** Slack Web API with a token: form-encoded POST, like the SDK. */
export function slackApi(apiUrl: string, token: string) {
  const base = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  return <T>(method: string, args: Record<string, string>, schema: z.ZodType<T>) =>
    requestJson(`${base}${method}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(args).toString(),
      schema,
    });
}
