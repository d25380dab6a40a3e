import { AsyncLocalStorage } from 'node:async_hooks';
import { GreenlightError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import {
  bucket,
  tokenKeyOf,
  type Bucket,
  type BucketName,
  type GitLabBudgetStore,
  type GitLabLane,
} from '../redis/gitlab-budget.ts';

export type { GitLabLane } from '../redis/gitlab-budget.ts';

/** Requests a minute per token; 0 turns a bucket off (self-managed GitLab without limits). */
export type GitLabLimits = {
  /** every request of a token (GitLab.com: 2,000 a minute per user) */
  perMinute: number;
  /** GET /projects/:id (GitLab.com: 400 a minute) */
  projectPerMinute: number;
  /** what the sweep may use (background lane), so that a sweep spreads over its interval */
  sweepPerMinute: number;
};

/** What the budget reports for /metrics (labels are these fixed words only). */
export type BudgetObserver = {
  waited(lane: GitLabLane, reason: 'paused' | BucketName, seconds: number): void;
  paused(reason: '429' | 'remaining'): void;
};

/**
 * Stands before every request greenlight sends to GitLab: waits until the token's budget allows it, and tells
 * every replica to pause when GitLab says 429 (or that nothing remains). The token is read from the request's
 * own headers, so greenlight's token, an administrator token with Sudo and a person's OAuth token each have their
 * own budget, as GitLab counts them.
 */
export type GitLabGate = {
  admit(headers: Headers, method: string, endpoint: string): Promise<void>;
  heard(headers: Headers, status: number, responseHeaders: Headers): Promise<void>;
};

/**
 * Which lane a piece of work runs in (an AsyncLocalStorage: the lane follows the work through every await, and
 * the adapters that call GitLab need not pass it along). Outside any lane, work is `normal`.
 */
const lanes = new AsyncLocalStorage<GitLabLane>();

export function withGitLabLane<T>(lane: GitLabLane, work: () => T): T {
  return lanes.run(lane, work);
}

export function currentGitLabLane(): GitLabLane {
  return lanes.getStore() ?? 'normal';
}

/** Pause when GitLab says 429 without Retry-After or RateLimit-Reset (GitLab's own too_many_requests! says 60). */
export const DEFAULT_PAUSE_MS = 60_000;
/** Waits up to this long happen in place; a longer one fails the request as rate-limited (a job is delayed). */
export const DEFAULT_MAX_WAIT_MS = 30_000;

const PROJECT_ROUTE = /^(?:\/?api\/v4\/)?\/?projects\/[^/?]+(?:\?.*)?$/;

export function createGitLabGate(deps: {
  store: GitLabBudgetStore;
  limits: GitLabLimits;
  logger: Logger;
  observe?: BudgetObserver;
  maxWaitMs?: number;
  /** tests pass a sleep on their own clock */
  sleep?: (ms: number) => Promise<void>;
}): GitLabGate {
  const { store, limits, logger } = deps;
  const maxWaitMs = deps.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref()));
  const api = limits.perMinute > 0 ? bucket('api', limits.perMinute) : null;
  const project = limits.projectPerMinute > 0 ? bucket('project', limits.projectPerMinute) : null;
  const sweep = limits.sweepPerMinute > 0 ? bucket('sweep', limits.sweepPerMinute) : null;

  const bucketsFor = (method: string, endpoint: string, lane: GitLabLane): Bucket[] => {
    const list: Bucket[] = [];
    if (api) list.push(api);
    if (project && method.toUpperCase() === 'GET' && PROJECT_ROUTE.test(endpoint)) list.push(project);
    if (sweep && lane === 'background') list.push(sweep);
    return list;
  };

  return {
    async admit(headers, method, endpoint) {
      const token = tokenOf(headers);
      if (!token) return;
      const key = tokenKeyOf(token);
      const lane = currentGitLabLane();
      const buckets = bucketsFor(method, endpoint, lane);
      let waitedMs = 0;
      for (;;) {
        let verdict;
        try {
          verdict = await store.take(key, buckets, lane);
        } catch (error) {
          // Without Redis the budget cannot be asked; GitLab's own 429 still protects it, so the request goes.
          logger.warn({ err: (error as Error).message }, 'GitLab budget unavailable; request sent without it');
          return;
        }
        if (verdict.kind === 'go') return;
        if (waitedMs + verdict.ms > maxWaitMs) {
          deps.observe?.waited(lane, verdict.reason, waitedMs / 1000);
          throw new GreenlightError('gitlab_rate_limited', `GitLab budget exhausted (${verdict.reason})`, {
            detail: verdict.reason === 'paused' ? 'paused' : 'budget',
            retryAfterMs: verdict.ms,
          });
        }
        // A little jitter so that callers woken together do not all ask again in the same millisecond.
        const ms = verdict.ms + Math.ceil(Math.random() * 20);
        deps.observe?.waited(lane, verdict.reason, ms / 1000);
        await sleep(ms);
        waitedMs += ms;
      }
    },
    async heard(headers, status, responseHeaders) {
      const pauseMs =
        status === 429
          ? (retryAfterMs(responseHeaders) ?? DEFAULT_PAUSE_MS)
          : responseHeaders.get('ratelimit-remaining') === '0'
            ? resetMs(responseHeaders)
            : undefined;
      if (pauseMs === undefined || pauseMs <= 0) return;
      const token = tokenOf(headers);
      if (!token) return;
      const reason = status === 429 ? '429' : 'remaining';
      try {
        const ms = await store.pause(tokenKeyOf(token), pauseMs);
        deps.observe?.paused(reason);
        logger.info({ pauseMs: ms, reason }, 'GitLab rate limit; every caller of the token paused');
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not share a GitLab pause');
      }
    },
  };
}

/** The token a request carries: PRIVATE-TOKEN (personal, project or group token) or an OAuth bearer token. */
function tokenOf(headers: Headers): string | null {
  const privateToken = headers.get('private-token');
  if (privateToken) return privateToken;
  const authorization = headers.get('authorization');
  return authorization?.replace(/^Bearer\s+/i, '') || null;
}

/** Retry-After (seconds or an HTTP date), else RateLimit-Reset (unix seconds). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value) {
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(value);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return resetMs(headers, now);
}

function resetMs(headers: Headers, now = Date.now()): number | undefined {
  const reset = Number(headers.get('ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
  return undefined;
}
