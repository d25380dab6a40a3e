import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';
import type { Keyspace } from '../redis/connection.ts';
import { claimReplicaIdentity, type ReplicaIdentity } from '../redis/replica-identity.ts';

/**
 * A restarted replica resumes its own unfinished jobs at once. While a job runs, its queue, id and lock token are
 * kept in one hash per replica (REPLICA_ID, see replica-identity.ts); at start, before its workers take jobs, the
 * replica moves every job it recorded back to wait with the recorded token. BullMQ checks the token: a job that
 * finished meanwhile, or whose lock expired and that another worker took, is left alone. Without this a job killed
 * mid-run waits until its lock expires and the stalled check finds it (WORKER_STALL_TIMEOUT and up to half as much
 * again); other replicas' jobs still take that path, their locks untouched.
 */
export type RunningJobs = {
  /** Wraps a BullMQ processor: the job is recorded while it runs. */
  track<T, R>(processor: (job: Job<T>, token?: string) => Promise<R>): (job: Job<T>, token?: string) => Promise<R>;
};

const field = (queue: string, jobId: string) => `${queue}\n${jobId}`;

export function createRunningJobs(redis: Redis, key: string, logger: Logger): RunningJobs {
  // Best effort: a job whose record could not be written is taken over by the stalled check, as before.
  const quietly = (what: string, write: Promise<unknown>) =>
    write.catch((error: unknown) => logger.debug({ err: (error as Error).message }, `could not ${what} a running job`));
  return {
    track(processor) {
      return async (job, token) => {
        if (!token || !job.id) return processor(job, token);
        const name = field(job.queueName, job.id);
        await quietly('record', redis.hset(key, name, token));
        try {
          return await processor(job, token);
        } finally {
          await quietly('forget', redis.hdel(key, name));
        }
      };
    },
  };
}

/**
 * Moves the jobs this replica's previous process left running back to wait (see above). Call before the workers
 * start; returns how many were resumed.
 */
export async function reclaimOwnJobs(opts: {
  redis: Redis;
  key: string;
  /** a connection for BullMQ's commands (shared, not closed here) */
  connection: Redis;
  prefix: string;
  logger: Logger;
}): Promise<number> {
  const { redis, key, logger } = opts;
  const [[, recorded]] = (await redis.multi().hgetall(key).del(key).exec()) as [[Error | null, Record<string, string>]];
  const byQueue = new Map<string, [jobId: string, token: string][]>();
  for (const [name, token] of Object.entries(recorded ?? {})) {
    const [queue, jobId] = name.split('\n');
    if (!queue || !jobId) continue;
    byQueue.set(queue, [...(byQueue.get(queue) ?? []), [jobId, token]]);
  }
  let resumed = 0;
  for (const [name, jobs] of byQueue) {
    const queue = new Queue(name, { connection: opts.connection, prefix: opts.prefix });
    queue.on('error', () => undefined); // the connection's own listener reports its errors
    try {
      for (const [jobId, token] of jobs) {
        const job = await Job.fromId(queue, jobId);
        if (!job) continue;
        try {
          await job.moveToWait(token);
          resumed++;
          logger.info({ queue: name, jobId }, 'job left unfinished by the previous process resumed');
        } catch (error) {
          // finished meanwhile, or another worker holds it now (its lock expired first): nothing to resume
          logger.debug({ queue: name, jobId, err: (error as Error).message }, 'job not resumed');
        }
      }
    } finally {
      await queue.close();
    }
  }
  return resumed;
}

/**
 * At a worker's start: the replica's name (see replica-identity.ts) and, when that name is stable, the jobs its
 * previous process left running moved back to wait, and a recorder for the jobs this process will run.
 */
export async function resumeReplica(opts: {
  redis: Redis;
  keys: Keyspace;
  replicaId: string | null;
  /** a connection for BullMQ's commands (shared, not closed here) */
  connection: Redis;
  logger: Logger;
}): Promise<{ identity: ReplicaIdentity; running?: RunningJobs }> {
  const { redis, keys, logger } = opts;
  const identity = await claimReplicaIdentity({ redis, keys, replicaId: opts.replicaId, logger });
  if (!identity.stable) return { identity };
  const key = keys.replicaJobs(identity.name);
  const resumed = await reclaimOwnJobs({
    redis,
    key,
    connection: opts.connection,
    prefix: keys.bullPrefix,
    logger,
  }).catch((error: unknown) => {
    logger.warn({ err: (error as Error).message }, 'could not resume the jobs of the previous process');
    return 0;
  });
  logger.info({ replicaId: identity.name, resumed }, 'replica identity claimed');
  return { identity, running: createRunningJobs(redis, key, logger) };
}
