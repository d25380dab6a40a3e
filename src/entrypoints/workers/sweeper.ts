import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';
import { sweepDeployments, type SweepDeps, type SweepReport } from '../../core/intake/sweep-deployments.ts';
import { describe, runJob } from './run-job.ts';
import { workerStallOptions } from './workers.ts';

export const SWEEP_QUEUE = 'sweep';
const SCHEDULER_ID = 'sweep';

/** `fullListing`: list every group again now (at start, after a Redis outage or data loss) */
export type SweepJob = { reason: string; fullListing?: boolean };

export type Sweeper = {
  queue: Queue<SweepJob>;
  /**
   * A sweep as soon as possible (deduplicated: at most one such request waits at a time), with a full listing
   * unless `fullListing: false`.
   */
  requestNow(reason: string, opts?: { fullListing?: boolean }): Promise<void>;
  /** Sets the schedule again (Redis lost its data, and with it the job scheduler). */
  reschedule(): Promise<void>;
  close(): Promise<void>;
};

/**
 * The sweep as a BullMQ job scheduler (one job every `everyMs`) with one sweep at a time across all replicas
 * (global concurrency 1). A worker that starts sweeps at once (whatever happened while none ran was missed);
 * so does one whose Redis comes back from an outage, which also sets the schedule again in case Redis lost
 * its data.
 */
export async function startSweeper(opts: {
  deps: Omit<SweepDeps, 'logger'>;
  everyMs: number;
  /** fail-fast connection (queue commands) and blocking connection (worker) */
  queueConnection: Redis;
  workerConnection: Redis;
  prefix: string;
  logger: Logger;
  stallTimeoutMs?: number;
}): Promise<Sweeper> {
  const { logger } = opts;
  const queue = new Queue<SweepJob>(SWEEP_QUEUE, {
    connection: opts.queueConnection,
    prefix: opts.prefix,
    defaultJobOptions: {
      attempts: 4,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    },
  });
  queue.on('error', (error: Error) =>
    logger.warn({ queue: SWEEP_QUEUE, err: error.message }, 'queue connection error'),
  );
  const worker = new Worker<SweepJob>(
    SWEEP_QUEUE,
    runJob<SweepJob, SweepReport>(logger, { pauseQueue: (ms) => queue.rateLimit(ms) }, (job, log) => {
      log.info({ reason: job.data.reason }, 'sweep started');
      return sweepDeployments(
        { ...opts.deps, logger: log },
        { reason: job.data.reason, fullListing: job.data.fullListing === true },
      );
    }),
    {
      connection: opts.workerConnection,
      prefix: opts.prefix,
      concurrency: 1,
      limiter: { max: 10_000, duration: 1_000 },
      ...workerStallOptions(opts.stallTimeoutMs),
    },
  );
  worker.on('error', (error) => logger.error({ queue: SWEEP_QUEUE, err: describe(error) }, 'worker error'));

  const schedule = async () => {
    await queue.setGlobalConcurrency(1);
    await queue.upsertJobScheduler(
      SCHEDULER_ID,
      { every: opts.everyMs },
      { name: 'sweep', data: { reason: 'scheduled' } },
    );
  };
  const requestNow = async (reason: string, request: { fullListing?: boolean } = {}) => {
    await queue.add(
      'sweep',
      { reason, fullListing: request.fullListing ?? true },
      { deduplication: { id: 'sweep-now' } },
    );
  };

  // The first 'ready' is the start; any later one follows a lost connection.
  let lost = false;
  const onLost = () => {
    lost = true;
  };
  const onReady = () => {
    if (!lost) return;
    lost = false;
    logger.info({}, 'redis is back; sweeping for what was missed');
    Promise.all([schedule(), requestNow('redis reconnected')]).catch((error: unknown) =>
      logger.warn({ err: describe(error) }, 'could not request a sweep after redis came back'),
    );
  };
  opts.queueConnection.on('close', onLost);
  opts.queueConnection.on('ready', onReady);

  await schedule();
  // Events that arrived while no worker was running (a crash, a deploy) were lost: look at once.
  await requestNow('worker started');
  logger.info({ everyMs: opts.everyMs }, 'sweep scheduled');
  return {
    queue,
    requestNow,
    reschedule: schedule,
    async close() {
      opts.queueConnection.off('close', onLost);
      opts.queueConnection.off('ready', onReady);
      await worker.close();
      await queue.close();
    },
  };
}
