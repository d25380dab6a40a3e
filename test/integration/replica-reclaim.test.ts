import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunningJobs, reclaimOwnJobs } from '../../src/adapters/queue/reclaim.ts';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { claimReplicaIdentity } from '../../src/adapters/redis/replica-identity.ts';
import { CapturingLogger } from '../fakes/in-memory.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

describe('replica identity and the jobs it left running (real Redis, real BullMQ)', () => {
  const prefix = uniquePrefix('replica-reclaim');
  const keys = keyspace(prefix);
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('gives a live name to one process only; a dead holder is waited out, a released name taken at once', async () => {
    const logger = new CapturingLogger();
    const first = await claimReplicaIdentity({ redis, keys, replicaId: 'pod-a', logger, leaseMs: 300 });
    expect(first).toMatchObject({ name: 'pod-a', stable: true });
    // a second live process with the same REPLICA_ID: after one lease period it runs under a name of its own
    const second = await claimReplicaIdentity({ redis, keys, replicaId: 'pod-a', logger, leaseMs: 300 });
    expect(second.stable).toBe(false);
    expect(second.name).not.toBe('pod-a');
    await first.release();
    const third = await claimReplicaIdentity({ redis, keys, replicaId: 'pod-a', logger, leaseMs: 300 });
    expect(third.stable).toBe(true);
    // killed without releasing: the lease is simply not renewed any more
    await redis.set(keys.replicaLease('pod-b'), 'dead-process', 'PX', 300);
    const restarted = await claimReplicaIdentity({ redis, keys, replicaId: 'pod-b', logger, leaseMs: 300 });
    expect(restarted).toMatchObject({ name: 'pod-b', stable: true });
    await Promise.all([third.release(), restarted.release()]);
    // no REPLICA_ID: a new name per process, no lease
    expect(await claimReplicaIdentity({ redis, keys, replicaId: null, logger })).toMatchObject({ stable: false });
  });

  it("moves the jobs its previous process left running back to wait, and leaves another replica's alone", async () => {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('work', { connection, prefix: keys.bullPrefix });
    const logger = new CapturingLogger();
    const mine = createRunningJobs(redis, keys.replicaJobs('pod-a'), logger);
    const theirs = createRunningJobs(redis, keys.replicaJobs('pod-b'), logger);
    const started: string[] = [];
    const hang = () => new Promise<never>(() => undefined);
    const worker = (running: typeof mine) =>
      new Worker(
        'work',
        running.track(async (job: Job) => {
          started.push(String(job.id));
          return hang();
        }),
        { connection: connection.duplicate(), prefix: keys.bullPrefix, concurrency: 1, lockDuration: 60_000 },
      );
    // pod-a's process takes job 1, pod-b's takes job 2; neither finishes (as if killed mid-job)
    const a = worker(mine);
    await queue.add('x', {}, { jobId: 'job-1' });
    await waitFor(() => started.includes('job-1'), { what: 'job 1 started' });
    await a.pause(true).catch(() => undefined);
    const b = worker(theirs);
    await queue.add('x', {}, { jobId: 'job-2' });
    await waitFor(() => started.includes('job-2'), { what: 'job 2 started' });
    expect(await redis.hlen(keys.replicaJobs('pod-a'))).toBe(1);

    const resumed = await reclaimOwnJobs({
      redis,
      key: keys.replicaJobs('pod-a'),
      connection,
      prefix: keys.bullPrefix,
      logger,
    });
    expect(resumed).toBe(1);
    expect(await queue.getJobState('job-1')).toBe('waiting');
    expect(await queue.getJobState('job-2')).toBe('active');
    expect(await redis.exists(keys.replicaJobs('pod-a'))).toBe(0);
    // a second start finds nothing more to resume
    expect(
      await reclaimOwnJobs({ redis, key: keys.replicaJobs('pod-a'), connection, prefix: keys.bullPrefix, logger }),
    ).toBe(0);

    await Promise.all([a.close(true), b.close(true)]);
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
});
