import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Logger } from '../../core/ports.ts';
import { levelOf } from '../redis/connection.ts';
import type { RunningJobs } from './reclaim.ts';
import { QUEUE_NAMES, QUEUES, type JobOf, type QueueName } from './declarations.ts';

export const DEFAULT_STALL_TIMEOUT_MS = 15_000;

/**
 * Stall options of every worker. A dead worker's job is back in the queue within about twice `stallTimeoutMs`
 * (its lock expires, then the stall check runs); after a Redis outage workers ask for jobs again within a second
 * of the connection coming back.
 */
export function workerStallOptions(stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS) {
  return {
    lockDuration: stallTimeoutMs,
    stalledInterval: Math.max(250, Math.round(stallTimeoutMs / 2)),
    maxStalledCount: 2,
    runRetryDelay: 1_000,
  };
}

export type JobHandler<T> = (job: Job<T>, token?: string) => Promise<unknown>;

export type QueueFactory = {
  /** The queue of a declaration (one instance per name: asking twice returns the same queue). */
  queue<N extends QueueName>(name: N): Queue<JobOf<N>>;
  /** A worker of a declaration; its jobs are checked against the declared schema before `handler` sees them. */
  worker<N extends QueueName>(name: N, handler: JobHandler<JobOf<N>>): Worker<JobOf<N>>;
  /** Waiting, active, delayed and failed jobs of every declared queue (for /metrics). */
  counts(): Promise<Record<string, Record<string, number>>>;
  /** Resolves once the queues' connection is ready (or after `timeoutMs`; false then). */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Every worker made after this records the jobs it runs under this replica's name (reclaim.ts). */
  recordRunningJobs(running: RunningJobs): void;
  /**
   * Workers first (they finish what they hold), then queues. `force`: without waiting for the jobs in flight (while
   * Redis is unreachable none can finish, and BullMQ's graceful close would wait for a connection that may never come)
   */
  close(force?: boolean): Promise<void>;
};

export type QueueFactoryOptions = {
  /** fail-fast connection shared by every queue */
  connection: Redis;
  /** blocking connection shared by every worker (null: this process runs no worker) */
  workerConnection: Redis | null;
  prefix: string;
  logger: Logger;
  stallTimeoutMs?: number;
  /** jobs at once per queue, over the declared ones (tests) */
  concurrency?: Partial<Record<QueueName, number>>;
  /** called with every worker made (metrics count its jobs) */
  observe?(worker: Worker): void;
};

/**
 * The one place that makes BullMQ queues and workers. Each gets an `error` listener (logged as JSON: without one
 * BullMQ prints connection errors to stderr while Redis is down), each worker the same stall options.
 */
export function createQueueFactory(opts: QueueFactoryOptions): QueueFactory {
  const { logger } = opts;
  const queues = new Map<QueueName, Queue>();
  const workers: Worker[] = [];
  const stall = workerStallOptions(opts.stallTimeoutMs);
  let running: RunningJobs | null = null;

  const queue = <N extends QueueName>(name: N): Queue<JobOf<N>> => {
    let made = queues.get(name);
    if (!made) {
      const declared = QUEUES[name];
      made = new Queue(declared.name, {
        connection: opts.connection,
        prefix: opts.prefix,
        defaultJobOptions: declared.jobs,
      });
      made.on('error', (error: Error) =>
        logger[levelOf(error, 'warn')]({ queue: name, err: error.message }, 'queue connection error'),
      );
      queues.set(name, made);
    }
    return made as Queue<JobOf<N>>;
  };

  const worker = <N extends QueueName>(name: N, handler: JobHandler<JobOf<N>>): Worker<JobOf<N>> => {
    if (!opts.workerConnection) throw new Error(`no worker connection for queue ${name} (ROLE=web)`);
    const declared = QUEUES[name];
    const schema = declared.schema as unknown as z.ZodType<JobOf<N>>;
    const checked: JobHandler<JobOf<N>> = async (job, token) => {
      const parsed = schema.safeParse(job.data);
      if (!parsed.success) {
        logger.error({ queue: name, jobId: job.id, issues: parsed.error.issues.slice(0, 5) }, 'job data unreadable');
        throw new UnrecoverableError('job data does not fit its queue');
      }
      job.data = parsed.data;
      return handler(job, token);
    };
    const made = new Worker<JobOf<N>>(declared.name, running ? running.track(checked) : checked, {
      connection: opts.workerConnection,
      prefix: opts.prefix,
      concurrency: opts.concurrency?.[name] ?? declared.worker.concurrency,
      autorun: true,
      ...stall,
    });
    made.on('error', (error: Error) =>
      logger[levelOf(error, 'error')]({ queue: name, err: error.message }, 'worker error'),
    );
    opts.observe?.(made as Worker);
    workers.push(made as Worker);
    return made;
  };

  return {
    queue,
    worker,
    async counts() {
      const entries = await Promise.all(
        QUEUE_NAMES.map(async (name) => {
          // the sweep's jobs wait with a priority (BullMQ's `prioritized`): they are waiting jobs too
          const { prioritized = 0, ...counts } = await queue(name).getJobCounts(
            'waiting',
            'prioritized',
            'active',
            'delayed',
            'failed',
          );
          return [name, { ...counts, waiting: (counts.waiting ?? 0) + prioritized }] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
    async ready(timeoutMs = 10_000) {
      const connection = opts.connection;
      if (connection.status === 'ready') return true;
      return new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          connection.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        connection.on('ready', onReady);
      });
    },
    recordRunningJobs(recorder) {
      running = recorder;
    },
    async close(force = false) {
      await Promise.all(workers.map((w) => w.close(force)));
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
