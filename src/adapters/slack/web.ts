import { ErrorCode as SlackErrorCode, WebClient, type WebAPICallResult } from '@slack/web-api';
import { GreenlightError } from '../../core/errors.ts';
import { observedSlackFetch } from '../metrics/api-observer.ts';
import type { ApiObserver } from '../metrics/metrics.ts';

/**
 * A Slack WebClient that never retries on its own (BullMQ owns retries) and rejects 429s at once so
 * the job can wait exactly Retry-After.
 */
export function createSlackWebClient(opts: {
  token: string;
  apiUrl: string;
  timeoutMs?: number;
  observe?: ApiObserver;
}): WebClient {
  return new WebClient(opts.token, {
    ...(opts.observe && { fetch: observedSlackFetch(opts.observe, opts.apiUrl) }),
    slackApiUrl: opts.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: opts.timeoutMs ?? 10_000,
    logLevel: undefined,
  });
}

/** Slack errors whose code means "try again later" rather than "no". */
const TRANSIENT = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

export function mapSlackError(error: unknown, what: string): GreenlightError {
  if (error instanceof GreenlightError) return error;
  const e = error as {
    code?: string;
    retryAfter?: number;
    statusCode?: number;
    data?: WebAPICallResult & { error?: string };
  };
  switch (e.code) {
    case SlackErrorCode.RateLimitedError:
      return new GreenlightError('slack_rate_limited', `Slack rate-limited ${what}`, {
        retryAfterMs: (e.retryAfter ?? 1) * 1000,
        detail: '429',
      });
    case SlackErrorCode.HTTPError:
      return new GreenlightError('slack_unavailable', `Slack answered HTTP ${e.statusCode} to ${what}`, {
        detail: String(e.statusCode),
      });
    case SlackErrorCode.PlatformError: {
      const code = e.data?.error ?? 'unknown_error';
      if (TRANSIENT.has(code))
        return new GreenlightError('slack_unavailable', `Slack said ${code} to ${what}`, { detail: code });
      return new GreenlightError('slack_refused', `Slack refused ${what}: ${code}`, { detail: code });
    }
    default:
      return new GreenlightError(
        'slack_unavailable',
        `Slack could not be reached for ${what}: ${(error as Error)?.message ?? 'unknown error'}`,
        { detail: 'network' },
      );
  }
}

export async function slackCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw mapSlackError(error, what);
  }
}
