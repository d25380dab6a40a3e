import { signSlackRequest } from '../../helpers/slack-sign.ts';
import type { DriverResponse, SendOptions } from './types.ts';

/** Slack gives an app 3 s to answer a command, interaction or event. */
export const SLACK_DEADLINE_MS = 3000;
export const STALE_SECONDS = 301;

export interface SignedRequest {
  appUrl: string;
  rawBody: string;
  contentType: string;
  signingSecret: string;
  headers?: Record<string, string>;
}

/** POSTs a body to the app the way Slack does, signed (or deliberately mis-signed) per `opts.signing`. */
export async function sendSigned(request: SignedRequest, opts: SendOptions = {}): Promise<DriverResponse> {
  const mode = opts.signing ?? 'valid';
  const nowSeconds = Math.floor(Date.now() / 1000);
  const timestamp = opts.timestampSeconds ?? (mode === 'stale-timestamp' ? nowSeconds - STALE_SECONDS : nowSeconds);
  const secret = mode === 'wrong-secret' ? `${request.signingSecret}-wrong` : request.signingSecret;
  const signature = signSlackRequest(secret, timestamp, request.rawBody);
  const body = mode === 'tampered-body' ? tamper(request.rawBody, request.contentType) : request.rawBody;
  const headers: Record<string, string> = { 'Content-Type': request.contentType, ...request.headers };
  if (mode !== 'missing-headers') headers['X-Slack-Request-Timestamp'] = String(timestamp);
  if (mode !== 'missing-headers' && mode !== 'missing-signature') headers['X-Slack-Signature'] = signature;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(endpoint(request.appUrl, opts.path), {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(`fake-slack: the app at ${request.appUrl} did not answer within ${timeoutMs} ms`, { cause: error });
  }
  const text = await response.text();
  const elapsedMs = Math.round(performance.now() - started);
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: text,
    json: parseJson(text),
    elapsedMs,
    timedOut: elapsedMs > SLACK_DEADLINE_MS,
  };
}

function endpoint(appUrl: string, path = '/slack/events'): string {
  const base = appUrl.replace(/\/+$/, '');
  return base.endsWith(path) ? base : `${base}${path}`;
}

function tamper(rawBody: string, contentType: string): string {
  return contentType.startsWith('application/json') ? `${rawBody} ` : `${rawBody}&tampered=1`;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
