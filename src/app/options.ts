import type { DestinationStream } from 'pino';
import type { Clock } from '../core/ports.ts';
import type { RateLimitName, RateLimitRule } from '../entrypoints/http/rate-limit.ts';
import type { WorkerSettings } from '../entrypoints/workers/workers.ts';

export type GreenlightOptions = {
  /** where logs go (tests capture them); stdout by default */
  logDestination?: DestinationStream;
  clock?: Clock;
  workerSettings?: WorkerSettings;
  /** Bolt's wait for ack() (default 3001 ms, Slack's deadline) */
  slackAckTimeoutMs?: number;
  /** chat.postMessage pacing per channel (default 1100 ms apart; waits over 1500 ms delay the job) */
  slackPacing?: { intervalMs?: number; maxSleepMs?: number };
  /** how often the worker role checks that Redis kept greenlight's data (default 30 s; see data-guard.ts) */
  dataCheckEveryMs?: number;
  /** the GitLab request budget's clock and sleep (tests), and how long a request may wait in place (default 30 s) */
  gitlabBudget?: { now?: () => number; sleep?: (ms: number) => Promise<void>; maxWaitMs?: number };
  /** per-IP limits of the public endpoints (defaults: RATE_LIMITS) */
  rateLimits?: Partial<Record<RateLimitName, RateLimitRule>>;
  /** longest wait between two of a sweep's jobs (default 1 s; they spread over 80 % of the sweep interval) */
  sweepMaxGapMs?: number;
};
