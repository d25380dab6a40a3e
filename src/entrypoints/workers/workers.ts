import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';
import {
  QUEUE,
  type DecisionJob,
  type NoticeJob,
  type NudgeJob,
  type QueueName,
  type ScanJob,
  type SyncJob,
} from '../../adapters/queue/queues.ts';
import type { IntakeEvent } from '../../core/intake/intake-event.ts';
import {
  giveUpDecision,
  giveUpNudge,
  processDecision,
  processIntake,
  processNotice,
  processNudge,
  processScan,
  processSync,
  type ProcessorDeps,
} from './processors.ts';
import { describe, runJob } from './run-job.ts';

/** A decision is retried for about a minute at most: never an approval long after the click. */
export const DECISION_WINDOW_MS = 60_000;

export type WorkerSettings = {
  /** jobs at once per queue; `intake`: webhook events at once (read from the webhook stream, see webhook-stream.ts) */
  concurrency?: Partial<Record<QueueName | 'intake', number>>;
  /**
   * After a crash, a job's lock expires after this long and another worker (or the restarted one) takes the job over.
   */
  stallTimeoutMs?: number;
};

export const DEFAULT_STALL_TIMEOUT_MS = 15_000;

/**
 * BullMQ options shared by every greenlight worker. A dead worker's job is back in the queue within about
 * twice `stallTimeoutMs` (its lock expires, then the stall check runs), well inside the decision window;
 * after a Redis outage workers ask for jobs again within a second of the connection coming back.
 */
export function workerStallOptions(stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS) {
  return {
    lockDuration: stallTimeoutMs,
    stalledInterval: Math.max(250, Math.round(stallTimeoutMs / 2)),
    maxStalledCount: 2,
    runRetryDelay: 1_000,
  };
}

/**
 * A limiter far above any real throughput: BullMQ only honours
 * a queue-wide pause (GitLab 429) on workers that have one.
 */
const PAUSABLE = { limiter: { max: 10_000, duration: 1_000 } };

/**
 * Until 0.1, each webhook delivery was a job of the BullMQ queue `intake`; now they travel through a Redis stream
 * (webhook-stream.ts). Workers still take jobs from the old queue, so that nothing a 0.1 web process accepted during
 * a rolling upgrade is left behind. To be removed once no 0.1 web process can be running.
 */
export const LEGACY_INTAKE_QUEUE = 'intake';

export type Workers = { close(): Promise<void>; workers: Worker[] };

export function startWorkers(
  deps: ProcessorDeps,
  opts: {
    connection: Redis;
    prefix: string;
    logger: Logger;
    settings?: WorkerSettings;
    pauseQueue?(queue: QueueName, ms: number): Promise<void>;
  },
): Workers {
  const { logger } = opts;
  const concurrency: Record<QueueName, number> = {
    scan: 4,
    sync: 10,
    decisions: 10,
    notices: 10,
    nudges: 10,
    ...opts.settings?.concurrency,
  };
  const stall = workerStallOptions(opts.settings?.stallTimeoutMs);
  const pausable = (name: QueueName) =>
    opts.pauseQueue ? { pauseQueue: (ms: number) => opts.pauseQueue!(name, ms) } : {};
  const make = <T>(
    name: QueueName | typeof LEGACY_INTAKE_QUEUE,
    handler: (job: Job<T>, token?: string) => Promise<unknown>,
  ) => {
    const limiter = name === QUEUE.scan || name === QUEUE.sync ? PAUSABLE : {};
    const worker = new Worker<T>(name, handler, {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: name === LEGACY_INTAKE_QUEUE ? 5 : concurrency[name],
      autorun: true,
      ...stall,
      ...limiter,
    });
    worker.on('error', (error) => logger.error({ queue: name, err: describe(error) }, 'worker error'));
    return worker;
  };
  const workers = [
    // Deliveries queued by a web process of greenlight 0.1 (a BullMQ job each) during a rolling upgrade.
    make<IntakeEvent>(
      LEGACY_INTAKE_QUEUE,
      runJob(logger, {}, (job, log) => processIntake(deps, job.data, log)),
    ),
    make<ScanJob>(
      QUEUE.scan,
      runJob(logger, pausable(QUEUE.scan), (job, log) => processScan(deps, job.data, log)),
    ),
    make<SyncJob>(
      QUEUE.sync,
      runJob(logger, pausable(QUEUE.sync), (job, log) => processSync(deps, job.data, log)),
    ),
    make<DecisionJob>(
      QUEUE.decisions,
      runJob<DecisionJob, string>(
        logger,
        { maxAgeMs: DECISION_WINDOW_MS, onGiveUp: (job, error) => giveUpDecision(deps, job, error) },
        (job, log) => processDecision(deps, job.data, log),
      ),
    ),
    make<NoticeJob>(
      QUEUE.notices,
      runJob(logger, { maxAgeMs: 10 * 60_000 }, (job) => processNotice(deps, job.data)),
    ),
    make<NudgeJob>(
      QUEUE.nudges,
      runJob<NudgeJob, string>(
        logger,
        { onGiveUp: (job) => giveUpNudge(deps, job, logger.child({ queue: job.queueName, jobId: job.id })) },
        (job, log) => processNudge(deps, job.data, log),
      ),
    ),
  ];
  return {
    workers,
    async close() {
      // Stops taking jobs, waits for the ones in flight, then closes connections.
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
