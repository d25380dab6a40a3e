import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueFactory, type QueueFactory } from '../../src/adapters/queue/factory.ts';
import { BACKGROUND_PRIORITY, createProducer, createQueues } from '../../src/adapters/queue/queues.ts';
import { withGitLabLane } from '../../src/adapters/gitlab/request-budget.ts';
import { CapturingLogger } from '../fakes/in-memory.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Syncs are deduplicated per deployment. A request that meets a sync already waiting joins it (that sync has not read
 * GitLab yet); one that meets a sync running must not be lost: what changed may have come after that sync's read.
 */
describe('sync requests (real Redis, a real worker)', () => {
  const prefix = uniquePrefix('sync-requests');
  let connection: Redis;
  let workerConnection: Redis;
  let factory: QueueFactory;
  beforeAll(() => {
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    workerConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    factory = createQueueFactory({ connection, workerConnection, prefix, logger: new CapturingLogger() });
  });
  afterAll(async () => {
    await factory.close();
    connection.disconnect();
    workerConnection.disconnect();
    await cleanupPrefix(prefix);
  });

  it('runs once more after a sync that was running when the deployment was asked for again', async () => {
    const producer = createProducer(createQueues(factory));
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    factory.worker('sync', async (job) => {
      runs.push(job.data.reason);
      if (runs.length === 1) await gate;
    });
    const ref = { projectId: 1, deploymentId: 9 };
    await producer.requestSync(ref, 'first');
    await waitFor(() => runs.length === 1, { what: 'the first sync running' });
    await producer.requestSync(ref, 'second');
    await producer.requestSync(ref, 'third');
    release();
    const queue = factory.queue('sync');
    await waitFor(
      async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return runs.length >= 2 && Object.values(counts).every((n) => n === 0);
      },
      { what: 'the sync asked for meanwhile, run' },
    );
    // one more run, not one per request: the latest request is the one kept
    expect(runs).toEqual(['first', 'third']);
  });

  it("queues a sync that background work asks for in the background (the sweep's share of the budget)", async () => {
    const producer = createProducer(createQueues(factory));
    const queue = factory.queue('sync');
    await withGitLabLane('background', () => producer.requestSync({ projectId: 1, deploymentId: 21 }, 'late summary'));
    await producer.requestSync({ projectId: 1, deploymentId: 22 }, 'a webhook');
    const priorityOf = async (deploymentId: number) =>
      (await queue.getJobs(['prioritized', 'waiting', 'delayed', 'active', 'completed'])).find(
        (j) => j.data.deploymentId === deploymentId,
      )?.priority;
    expect(await priorityOf(21)).toBe(BACKGROUND_PRIORITY);
    expect(await priorityOf(22)).toBe(0);
  });
});
