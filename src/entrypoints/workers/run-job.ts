import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { GreenlightError, isGreenlightError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import { QUEUES, type JobOf, type QueueDeclaration, type QueueName } from '../../adapters/queue/declarations.ts';
import { withGitLabLane, type GitLabLane } from '../../adapters/gitlab/request-budget.ts';

export type JobPolicy<T> = {
  /** Stop retrying once the job is older than this (a decision must not land long after the click). */
  maxAgeMs?: number;
  /** Called once when the job will not be tried again, e.g. to tell the person. */
  onGiveUp?(job: Job<T>, error: unknown): Promise<void>;
  /**
   * Which lane of the GitLab request budget the job's requests take (see request-budget.ts): `interactive` for
   * clicks, `background` for the sweep's work; `normal` when unset.
   */
  lane?(job: Job<T>): GitLabLane;
};

/** The policy of a declared queue (declarations.ts): its age limit and its lane of the GitLab budget. */
export function jobPolicy<N extends QueueName>(name: N): JobPolicy<JobOf<N>> {
  const worker = QUEUES[name].worker as QueueDeclaration['worker'];
  const lane = worker.gitlabLane;
  return {
    ...(worker.maxAgeMs !== undefined && { maxAgeMs: worker.maxAgeMs }),
    ...(lane !== undefined && { lane: (job: Job<JobOf<N>>) => (lane === 'origin' ? gitlabLaneOf(job) : lane) }),
  };
}

/**
 * Work the sweep asked for (its reason starts with "sweep", or it was queued with a priority: webhook work has
 * none) is background work for the GitLab budget: it takes the sweep's share and yields to clicks and webhooks.
 */
export function gitlabLaneOf(job: { data: unknown; priority?: number; opts?: { priority?: number } }): GitLabLane {
  const reason = (job.data as { reason?: unknown } | null)?.reason;
  const fromSweep = typeof reason === 'string' && reason.startsWith('sweep');
  // the job's current priority: a sweep job a webhook hurried (queues.ts) has none any more
  return fromSweep || (job.priority ?? job.opts?.priority ?? 0) > 0 ? 'background' : 'normal';
}

/**
 * The one place that decides retry vs give up. Retryable errors go back to BullMQ (exponential backoff),
 * or wait exactly Retry-After when the remote side said so; everything else fails at once.
 */
export function runJob<T, R>(logger: Logger, policy: JobPolicy<T>, process: (job: Job<T>, log: Logger) => Promise<R>) {
  return async (job: Job<T>, token?: string): Promise<R | undefined> => {
    const log = logger.child({ queue: job.queueName, jobId: job.id, attempt: job.attemptsMade + 1 });
    try {
      return await withGitLabLane(policy.lane?.(job) ?? 'normal', () => process(job, log));
    } catch (error) {
      if (error instanceof DelayedError || error instanceof UnrecoverableError) throw error;
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
      if (err?.retryAfterMs !== undefined && token) {
        // Rate limited: wait what the server asked (plus a little jitter), without spending an attempt. A GitLab 429
        // also paused every other GitLab caller of the token (request-budget.ts), whatever queue it serves.
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
