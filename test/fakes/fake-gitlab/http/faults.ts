// Failure injection (failNext) and Rack::Attack-style throttling (§7).
import { STATUS_CODES } from 'node:http';
import type { Clock } from '../clock.ts';
import type { HttpResult, Incoming } from './types.ts';

export interface FailureSpec {
  /** Only this method (case-insensitive); any when omitted. */
  method?: string;
  /** Exact path as sent (e.g. "/api/v4/projects/1/deployments/7/approval", also matched decoded) or a RegExp on it. */
  path: string | RegExp;
  /** Status to answer with. Omit (with delayMs or until) for a slow but otherwise normal response. */
  status?: number;
  /**
   * JSON-serialised unless a string (sent as text).
   * Defaults: 429 -> "Retry later\n", 5xx gateway -> HTML, else {"message":"<status> <reason>"}.
   */
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests to affect (default 1). */
  times?: number;
  /** Wait this long (real time) before answering. */
  delayMs?: number;
  /** Answer only once this settles (a test releases a slow GitLab when it has seen what it waits for). */
  until?: Promise<unknown>;
  /**
   * Run the request for real (state changes, webhooks) and then answer
   * with the failure: "committed, but the client saw an error".
   */
  processFirst?: boolean;
}

export interface RateLimitSpec {
  limitPerMinute: number;
  /** RateLimit-Name, default "throttle_authenticated_api". */
  name?: string;
}

export interface ArmedFailure {
  delayMs: number;
  until: Promise<unknown> | null;
  processFirst: boolean;
  /** Null when the spec only delays. */
  result: HttpResult | null;
}

interface Window {
  start: number;
  count: number;
}

const WINDOW_MS = 60_000;

function rateLimitHeaders(
  name: string,
  limit: number,
  observed: number,
  resetAt: number,
  now: number,
): Record<string, string> {
  return {
    'RateLimit-Name': name,
    'RateLimit-Limit': String(limit),
    'RateLimit-Observed': String(observed),
    'RateLimit-Remaining': String(Math.max(limit - observed, 0)),
    'RateLimit-Reset': String(Math.floor(resetAt / 1000)),
    'RateLimit-ResetTime': new Date(resetAt).toUTCString(),
    'Retry-After': String(Math.max(Math.ceil((resetAt - now) / 1000), 1)),
  };
}

const throttled = (headers: Record<string, string>): HttpResult => ({
  status: 429,
  text: 'Retry later\n',
  headers: { 'Content-Type': 'text/plain', ...headers },
});

export interface Faults {
  failNext(spec: FailureSpec): void;
  take(incoming: Incoming): ArmedFailure | null;
  setRateLimit(spec: RateLimitSpec | null): void;
  /** Count a request against `key`; a 429 result when over the limit. */
  throttle(key: string): HttpResult | null;
}

function defaultFailure(spec: FailureSpec, status: number, clock: Clock): HttpResult {
  const headers = spec.headers ?? {};
  if (spec.body === undefined && status === 429) {
    const now = clock.now();
    return throttled({
      ...rateLimitHeaders('throttle_authenticated_api', 2000, 2001, now + WINDOW_MS, now),
      ...headers,
    });
  }
  if (typeof spec.body === 'string')
    return { status, text: spec.body, headers: { 'Content-Type': 'text/plain', ...headers } };
  if (spec.body !== undefined) return { status, json: spec.body, headers };
  if (status === 502 || status === 503 || status === 504) {
    const reason = STATUS_CODES[status] ?? 'Error';
    return {
      status,
      text:
        `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ` +
        `${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
      headers: { 'Content-Type': 'text/html', ...headers },
    };
  }
  return { status, json: { message: `${status} ${STATUS_CODES[status] ?? 'Error'}` }, headers };
}

export function createFaults(clock: Clock): Faults {
  const armed: Array<FailureSpec & { remaining: number }> = [];
  let rateLimit: RateLimitSpec | null = null;
  const windows = new Map<string, Window>();

  const matches = (spec: FailureSpec, incoming: Incoming): boolean => {
    if (spec.method !== undefined && spec.method.toUpperCase() !== incoming.method) return false;
    if (spec.path instanceof RegExp) return spec.path.test(incoming.rawPath);
    let decoded = incoming.rawPath;
    try {
      decoded = decodeURIComponent(incoming.rawPath);
    } catch {
      // keep raw
    }
    return spec.path === incoming.rawPath || spec.path === decoded;
  };

  return {
    failNext(spec) {
      if (spec.status === undefined && spec.delayMs === undefined && spec.until === undefined)
        throw new Error('failNext: give a status, a delayMs or until, or several');
      armed.push({ ...spec, remaining: spec.times ?? 1 });
    },
    take(incoming) {
      const index = armed.findIndex((spec) => matches(spec, incoming));
      const spec = armed[index];
      if (!spec) return null;
      spec.remaining -= 1;
      if (spec.remaining <= 0) armed.splice(index, 1);
      return {
        delayMs: spec.delayMs ?? 0,
        until: spec.until ?? null,
        processFirst: spec.processFirst === true,
        result: spec.status === undefined ? null : defaultFailure(spec, spec.status, clock),
      };
    },
    setRateLimit(spec) {
      if (spec !== null && !(spec.limitPerMinute >= 0)) throw new Error('setRateLimit: limitPerMinute must be >= 0');
      rateLimit = spec;
      windows.clear();
    },
    throttle(key) {
      if (rateLimit === null) return null;
      const now = clock.now();
      const start = Math.floor(now / WINDOW_MS) * WINDOW_MS;
      const current = windows.get(key);
      const window = current && current.start === start ? current : { start, count: 0 };
      window.count += 1;
      windows.set(key, window);
      if (window.count <= rateLimit.limitPerMinute) return null;
      const name = rateLimit.name ?? 'throttle_authenticated_api';
      return throttled(rateLimitHeaders(name, rateLimit.limitPerMinute, window.count, start + WINDOW_MS, now));
    },
  };
}
