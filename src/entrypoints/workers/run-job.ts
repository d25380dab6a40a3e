import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { GreenlightError, isGreenlightError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import { QUEUES, type JobOf, type QueueName } from '../../adapters/queue/declarations.ts';
import type { QueueFactory } from '../../adapters/queue/factory.ts';

export type JobPolicy<T> = {
  /** Stop retrying once the job is older than this (a decision must not land long after the click). */
  maxAgeMs?: number;
  /** Called once when the job will not be tried again, e.g. to tell the person. */
  onGiveUp?(job: Job<T>, error: unknown): Promise<void>;
  /**
   * GitLab limits greenlight's own token, not one job: when set, a GitLab 429 pauses the whole queue (every
   * worker, every replica) for Retry-After instead of letting the other jobs run into the same limit.
   * The worker must have a `limiter` for BullMQ to honour the pause.
   */
  pauseQueue?(ms: number): Promise<void>;
};

/** The policy of a declared queue (declarations.ts): its age limit, and the queue-wide pause when pausable. */
export function jobPolicy<N extends QueueName>(name: N, factory: Pick<QueueFactory, 'queue'>): JobPolicy<JobOf<N>> {
  const worker = QUEUES[name].worker as { maxAgeMs?: number; pausable?: boolean };
  return {
    ...(worker.maxAgeMs !== undefined && { maxAgeMs: worker.maxAgeMs }),
    // GitLab's limit is the token's: a 429 met by a scan or a sync pauses both (the sweep spreads them together)
    ...(worker.pausable && {
      pauseQueue: async (ms: number) => {
        const together: QueueName[] = name === 'scan' || name === 'sync' ? ['scan', 'sync'] : [name];
        await Promise.all(together.map((other) => factory.queue(other).rateLimit(ms)));
      },
    }),
  };
}

/**
 * The one place that decides retry vs give up. Retryable errors go back to BullMQ (exponential backoff),
 * or wait exactly Retry-After when the remote side said so; everything else fails at once.
 */
export function runJob<T, R>(logger: Logger, policy: JobPolicy<T>, process: (job: Job<T>, log: Logger) => Promise<R>) {
  return async (job: Job<T>, token?: string): Promise<R | undefined> => {
    const log = logger.child({ queue: job.queueName, jobId: job.id, attempt: job.attemptsMade + 1 });
    try {
      return await process(job, log);
    } catch (error) {
      if (error instanceof DelayedError || error instanceof UnrecoverableError || isRateLimitError(error)) throw error;
      const err = isGreenlightError(error) ? error : null;
      const retryable = err ? err.retryable : true;
      const age = Date.now() - job.timestamp;
      const tooOld = policy.maxAgeMs !== undefined && age + (err?.retryAfterMs ?? 0) > policy.maxAgeMs;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!retryable || tooOld || (lastAttempt && err?.retryAfterMs === undefined)) {
        log.warn({ err: describe(error), retryable, tooOld }, 'job failed for good');
        await policy
          .onGiveUp?.(job, error)
          .catch((e: unknown) => log.error({ err: describe(e) }, 'could not report a failed job'));
        throw new UnrecoverableError(err?.message ?? (error as Error)?.message ?? 'failed');
      }
      if (err?.retryAfterMs !== undefined && err.code === 'gitlab_rate_limited' && policy.pauseQueue) {
        // The job goes back to wait without spending an attempt; nobody takes a job before the pause ends.
        const waitMs = Math.max(err.retryAfterMs, 250) + Math.floor(Math.random() * 250);
        log.info({ waitMs, code: err.code }, 'GitLab rate limit; queue paused');
        await policy.pauseQueue(waitMs);
        throw Worker.RateLimitError();
      }
      if (err?.retryAfterMs !== undefined && token) {
        // Rate limited: wait what the server asked (plus a little jitter), without spending an attempt.
        const waitMs = Math.max(err.retryAfterMs, 250) + Math.floor(Math.random() * 250);
        log.info({ waitMs, code: err.code }, 'rate limited; job delayed');
        await job.moveToDelayed(Date.now() + waitMs, token);
        throw new DelayedError();
      }
      log.warn({ err: describe(error) }, 'job failed; will retry');
      throw error;
    }
  };
}

/** Errors for logs: code, message and remote detail; never the request (SDK errors carry tokens). */
export function describe(error: unknown): Record<string, unknown> {
  if (error instanceof GreenlightError) return { code: error.code, message: error.message, detail: error.detail };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { message: String(error) };
}

function isRateLimitError(error: unknown): boolean {
  return error instanceof Error && error.message === Worker.RateLimitError().message;
}
