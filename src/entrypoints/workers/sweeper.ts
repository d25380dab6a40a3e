import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';
import { sweepDeployments, type SweepDeps } from '../../core/intake/sweep-deployments.ts';
import type { SweepJob } from '../../adapters/queue/declarations.ts';
import type { QueueFactory } from '../../adapters/queue/factory.ts';
import { describe, jobPolicy, runJob } from './run-job.ts';

const SCHEDULER_ID = 'sweep';

export type Sweeper = {
  queue: Queue<SweepJob>;
  /**
   * A sweep as soon as possible (deduplicated: at most one such request waits at a time), with a full listing
   * unless `fullListing: false`. `classifyAll` (Redis lost greenlight's data): every project is classified by it, see
   * sweepDeployments; such a request is deduplicated on its own, never into a waiting request without it.
   */
  requestNow(reason: string, opts?: { fullListing?: boolean; classifyAll?: boolean }): Promise<void>;
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
  factory: QueueFactory;
  /** the queues' connection: its 'ready' after a lost connection asks for a sweep */
  queueConnection: Redis;
  logger: Logger;
}): Promise<Sweeper> {
  const { logger } = opts;
  const queue = opts.factory.queue('sweep');
  opts.factory.worker(
    'sweep',
    runJob(opts.logger, jobPolicy('sweep'), (job, log) => {
      log.info({ reason: job.data.reason }, 'sweep started');
      return sweepDeployments(
        { ...opts.deps, logger: log },
        {
          reason: job.data.reason,
          fullListing: job.data.fullListing === true,
          classifyAll: job.data.classifyAll === true,
        },
      );
    }),
  );

  const schedule = async () => {
    await queue.setGlobalConcurrency(1);
    await queue.upsertJobScheduler(
      SCHEDULER_ID,
      { every: opts.everyMs },
      { name: 'sweep', data: { reason: 'scheduled' } },
    );
  };
  const requestNow = async (reason: string, request: { fullListing?: boolean; classifyAll?: boolean } = {}) => {
    await queue.add(
      'sweep',
      { reason, fullListing: request.fullListing ?? true, ...(request.classifyAll && { classifyAll: true }) },
      { deduplication: { id: request.classifyAll ? 'sweep-now-classify-all' : 'sweep-now' } },
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
      // the queue and worker are the factory's, closed with the others
    },
  };
}
