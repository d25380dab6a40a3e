import {
  createRequesterFn,
  GitbeakerRequestError,
  GitbeakerTimeoutError,
  type RequesterType,
  type ResourceOptions,
} from '@gitbeaker/requester-utils';
import { GreenlightError } from '../../core/errors.ts';
import type { ApiObserver } from '../metrics/metrics.ts';
import { gitlabOperation, noAnswerStatus } from '../metrics/api-observer.ts';
import { retryAfterMs, type GitLabGate } from './request-budget.ts';

/**
 * gitbeaker's own request handler retries 429 and 502 ten times within milliseconds and ignores
 * Retry-After. BullMQ owns retries here, so this handler makes exactly one attempt and lets the error
 * (with status and headers) reach mapGitLabError.
 */
async function singleAttemptHandler(
  endpoint: string,
  options?: Record<string, unknown>,
  observe?: ApiObserver,
  gate?: GitLabGate,
  timeoutMs?: number,
) {
  const {
    prefixUrl,
    searchParams,
    method,
    agent: _agent,
    asStream: _asStream,
    rateLimiters: _rl,
    ...rest
  } = (options ?? {}) as {
    prefixUrl?: string;
    searchParams?: string;
    method?: string;
    agent?: unknown;
    asStream?: boolean;
    rateLimiters?: unknown;
  } & RequestInit;
  const base = prefixUrl?.endsWith('/') ? prefixUrl : `${prefixUrl ?? ''}/`;
  const url = new URL(endpoint, base);
  url.search = searchParams ?? '';
  const request = new Request(url, { ...rest, method: method ?? 'GET' });
  // The token's budget first (shared by every replica): this may wait, or fail as rate-limited. gitbeaker starts its
  // timeout before calling here (one for all pages of a listing): GitLab's time to answer starts only now.
  await gate?.admit(request.headers, request.method, endpoint);
  const signal = timeoutMs !== undefined ? AbortSignal.timeout(timeoutMs) : request.signal;
  const started = performance.now();
  const report = (status: string) =>
    observe?.({
      api: 'gitlab',
      operation: gitlabOperation(request.method, endpoint),
      status,
      seconds: (performance.now() - started) / 1000,
    });
  let response: Response;
  try {
    response = await fetch(request, { signal });
  } catch (error) {
    report(noAnswerStatus(error));
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new GitbeakerTimeoutError('Query timeout was reached', { cause: error });
    throw error;
  }
  report(String(response.status));
  await gate?.heard(request.headers, response.status, response.headers);
  const headers = Object.fromEntries(response.headers.entries());
  if (!response.ok) {
    const text = await response.text();
    let description = text;
    if ((response.headers.get('content-type') ?? '').includes('application/json')) {
      try {
        const body = JSON.parse(text) as { error_description?: unknown; error?: unknown; message?: unknown };
        const picked = body.error_description ?? body.message ?? body.error ?? '';
        description = typeof picked === 'string' ? picked : JSON.stringify(picked);
      } catch {
        description = text;
      }
    }
    throw new GitbeakerRequestError(description, { cause: { description, request, response } });
  }
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const body =
    response.status === 204
      ? null
      : contentType === 'application/json'
        ? ((await response.json()) ?? {})
        : await response.text();
  return { body, headers, status: response.status };
}

export const singleAttemptRequester: (resourceOptions: ResourceOptions) => RequesterType = createRequesterFn(
  (_, requestOptions) => Promise.resolve(requestOptions),
  singleAttemptHandler as never,
);

/**
 * The same requester, reporting every request (operation, status, duration) to `observe` (for /metrics) and
 * asking `gate` (the token's shared budget) before each one.
 */
export function observedRequester(
  observe: ApiObserver | undefined,
  gate?: GitLabGate,
  /** how long GitLab has to answer each request, counted from its admission by `gate` */
  timeoutMs?: number,
): (resourceOptions: ResourceOptions) => RequesterType {
  const handler = (endpoint: string, options?: Record<string, unknown>) =>
    singleAttemptHandler(endpoint, options, observe, gate, timeoutMs);
  return createRequesterFn((_, requestOptions) => Promise.resolve(requestOptions), handler as never);
}

/** Classifies what GitLab said about an approval or play request (HTTP 400 bodies carry only a message). */
export function classifyRefusal(message: string): string | undefined {
  const rules: Array<[RegExp, string]> = [
    [/cannot approve your own deployment/i, 'self_approval'],
    [/don't have permission to approve/i, 'no_permission'],
    [/not waiting for approvals/i, 'not_waiting'],
    [/environment is not protected/i, 'not_protected'],
    [/approvals is not configured/i, 'not_configured'],
    [/no approval rules for the given/i, 'represented_as_invalid'],
    [/comment is too long/i, 'comment_too_long'],
    [/unplayable job/i, 'unplayable'],
  ];
  return rules.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * Every GitLab failure becomes a GreenlightError, decided on the HTTP status (the message only
 * refines 400s, where GitLab has nothing else). Never carries the request: its headers hold tokens.
 */
export function mapGitLabError(error: unknown, what: string): GreenlightError {
  if (error instanceof GreenlightError) return error;
  if (error instanceof GitbeakerTimeoutError)
    return new GreenlightError('gitlab_unavailable', `GitLab did not answer ${what} in time`, { detail: 'timeout' });
  if (error instanceof GitbeakerRequestError && error.cause?.response) {
    const { status, headers } = error.cause.response;
    const message = error.cause.description || `HTTP ${status}`;
    const detail = String(status);
    if (status === 429) {
      const after = retryAfterMs(headers);
      return new GreenlightError('gitlab_rate_limited', `GitLab rate-limited ${what}`, {
        detail,
        ...(after !== undefined && { retryAfterMs: after }),
      });
    }
    if (status >= 500)
      return new GreenlightError('gitlab_unavailable', `GitLab answered ${status} to ${what}`, { detail });
    if (status === 401)
      return new GreenlightError('gitlab_unauthorized', message, {
        detail: /expired/i.test(message) ? 'expired' : /revoked/i.test(message) ? 'revoked' : detail,
      });
    if (status === 403)
      return new GreenlightError('gitlab_forbidden', message, {
        detail: /insufficient_scope|higher privileges/i.test(message) ? 'insufficient_scope' : detail,
      });
    if (status === 404) return new GreenlightError('gitlab_not_found', message, { detail });
    return new GreenlightError('gitlab_refused', message, { detail: classifyRefusal(message) ?? detail });
  }
  const cause = error as Error;
  return new GreenlightError(
    'gitlab_unavailable',
    `GitLab could not be reached for ${what}: ${cause?.message ?? 'unknown error'}`,
    { detail: 'network' },
  );
}
