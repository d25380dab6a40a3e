import type { Worker } from 'bullmq';
import type { Logger } from '../../core/ports.ts';
import type { QueueName } from '../../adapters/queue/declarations.ts';
import type { QueueFactory } from '../../adapters/queue/factory.ts';
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
import { jobPolicy, runJob } from './run-job.ts';

export type WorkerSettings = {
  /** jobs at once per queue (over the declared ones, see declarations.ts) */
  concurrency?: Partial<Record<QueueName, number>>;
  /**
   * After a crash, a job's lock expires after this long and another worker (or the restarted one) takes the job over.
   */
  stallTimeoutMs?: number;
};

export type Workers = { workers: Worker[] };

/** The workers of the card queues; each hands its job to one processor (processors.ts) under run-job.ts's policy. */
export function startWorkers(deps: ProcessorDeps, factory: QueueFactory, logger: Logger): Workers {
  const policy = <N extends QueueName>(name: N) => jobPolicy(name);
  const workers = [
    factory.worker(
      'intake',
      runJob(logger, policy('intake'), (job, log) => processIntake(deps, job.data, log)),
    ),
    factory.worker(
      'scan',
      runJob(logger, policy('scan'), (job, log) => processScan(deps, job.data, log)),
    ),
    factory.worker(
      'sync',
      runJob(logger, policy('sync'), (job, log) => processSync(deps, job.data, log)),
    ),
    factory.worker(
      'decisions',
      runJob(
        logger,
        { ...policy('decisions'), onGiveUp: (job, error) => giveUpDecision(deps, job, error) },
        (job, log) => processDecision(deps, job.data, log, { retried: job.attemptsStarted > 1 }),
      ),
    ),
    factory.worker(
      'notices',
      runJob(logger, policy('notices'), (job) => processNotice(deps, job.data)),
    ),
    factory.worker(
      'nudges',
      runJob(
        logger,
        {
          ...policy('nudges'),
          onGiveUp: (job) => giveUpNudge(deps, job, logger.child({ queue: 'nudges', jobId: job.id })),
        },
        (job, log) => processNudge(deps, job.data, log),
      ),
    ),
  ];
  return { workers: workers as Worker[] };
}
