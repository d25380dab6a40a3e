/**
 * Errors with stable codes. Adapters translate SDK errors into these; one place (the job runner) decides
 * retry vs give up from `retryable`/`retryAfterMs`; one function (describeForPerson) turns them into a
 * sentence for a Slack user.
 */
export type ErrorCode =
  | 'gitlab_unavailable' // 5xx, timeout, network
  | 'gitlab_rate_limited' // 429
  | 'gitlab_unauthorized' // 401 for the acting token
  | 'gitlab_forbidden' // 403
  | 'gitlab_not_found' // 404
  | 'gitlab_refused' // other 4xx with GitLab's own message
  | 'slack_rate_limited'
  | 'slack_unavailable'
  | 'slack_refused' // ok:false with an error code
  | 'identity_broken' // a stored OAuth link no longer works
  | 'invalid_input';

export class GreenlightError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** When the remote side said how long to wait (Retry-After). */
  readonly retryAfterMs: number | undefined;
  /** HTTP status or platform error code from the remote side, for logs and metrics. */
  readonly detail: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; retryAfterMs?: number; detail?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GreenlightError';
    this.code = code;
    this.retryable =
      opts.retryable ??
      (code === 'gitlab_unavailable' ||
        code === 'gitlab_rate_limited' ||
        code === 'slack_rate_limited' ||
        code === 'slack_unavailable');
    this.retryAfterMs = opts.retryAfterMs;
    this.detail = opts.detail;
  }
}

export function isGreenlightError(error: unknown, code?: ErrorCode): error is GreenlightError {
  return error instanceof GreenlightError && (code === undefined || error.code === code);
}
