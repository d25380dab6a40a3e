import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';
import { QUEUE, type DecisionJob, type NoticeJob, type NudgeJob, type QueueName, type ScanJob, type SyncJob } from '../../adapters/queue/queues.ts';
import type { IntakeEvent } from '../http/webhook-events.ts';
import { giveUpDecision, giveUpNudge, processDecision, processIntake, processNotice, processNudge, processScan, processSync, type ProcessorDeps } from './processors.ts';
import { describe, runJob } from './run-job.ts';

/** A decision is retried for about a minute at most: never an approval long after the click. */
export const DECISION_WINDOW_MS = 60_000;

export type WorkerSettings = { concurrency?: Partial<Record<QueueName, number>> };

export type Workers = { close(): Promise<void>; workers: Worker[] };

export function startWorkers(deps: ProcessorDeps, opts: { connection: Redis; prefix: string; logger: Logger; settings?: WorkerSettings }): Workers {
  const { logger } = opts;
  const concurrency = { intake: 20, scan: 4, sync: 10, decisions: 10, notices: 10, nudges: 10, ...opts.settings?.concurrency };
  const make = <T>(name: QueueName, handler: (job: Job<T>, token?: string) => Promise<unknown>) => {
    const worker = new Worker<T>(name, handler, { connection: opts.connection, prefix: opts.prefix, concurrency: concurrency[name], autorun: true });
    worker.on('error', (error) => logger.error({ queue: name, err: describe(error) }, 'worker error'));
    return worker;
  };
  const workers = [
    make<IntakeEvent>(QUEUE.intake, runJob(logger, {}, (job, log) => processIntake(deps, job.data, log))),
    make<ScanJob>(QUEUE.scan, runJob(logger, {}, (job, log) => processScan(deps, job.data, log))),
    make<SyncJob>(QUEUE.sync, runJob(logger, {}, (job, log) => processSync(deps, job.data, log))),
    make<DecisionJob>(
      QUEUE.decisions,
      runJob<DecisionJob, string>(logger, { maxAgeMs: DECISION_WINDOW_MS, onGiveUp: (job, error) => giveUpDecision(deps, job, error) }, (job, log) => processDecision(deps, job.data, log)),
    ),
    make<NoticeJob>(QUEUE.notices, runJob(logger, { maxAgeMs: 10 * 60_000 }, (job) => processNotice(deps, job.data))),
    make<NudgeJob>(QUEUE.nudges, runJob<NudgeJob, string>(logger, { onGiveUp: (job) => giveUpNudge(deps, job, logger.child({ queue: job.queueName, jobId: job.id })) }, (job, log) => processNudge(deps, job.data, log))),
  ];
  return {
    workers,
    async close() {
      // Stops taking jobs, waits for the ones in flight, then closes connections.
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
