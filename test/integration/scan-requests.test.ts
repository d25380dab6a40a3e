import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueFactory, type QueueFactory } from '../../src/adapters/queue/factory.ts';
import {
  BACKGROUND_PRIORITY,
  createProducer,
  createQueues,
  SCAN_COALESCE_MS,
  type Queues,
  type ScanJob,
} from '../../src/adapters/queue/queues.ts';
import { CapturingLogger } from '../fakes/in-memory.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

describe('scan requests (real Redis, no worker: every request meets the scans still waiting)', () => {
  const prefix = uniquePrefix('scan-requests');
  let connection: Redis;
  let factory: QueueFactory;
  let queues: Queues;
  beforeAll(() => {
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    factory = createQueueFactory({ connection, workerConnection: null, prefix, logger: new CapturingLogger() });
    queues = createQueues(factory);
  });
  afterAll(async () => {
    await factory.close();
    connection.disconnect();
    await cleanupPrefix(prefix);
  });

  const waiting = async () =>
    (await queues.scan.getJobs(['waiting', 'delayed']))
      .map((job) => job.data as ScanJob)
      .map((d) => `${d.projectId}:${d.environments.join(',') || '*'}`)
      .sort();

  it('coalesces scans per project and environment, and keeps every environment a request named', async () => {
    const producer = createProducer(queues);
    await producer.requestScan({ projectId: 7, environments: ['production'], reason: 'job hook: manual' });
    await producer.requestScan({ projectId: 7, environments: ['production'], reason: 'pipeline hook: manual' });
    await producer.requestScan({
      projectId: 7,
      environments: ['staging', 'review/a b', 'review/a_b', 'staging'],
      reason: 'pipeline hook: manual',
    });
    await producer.requestScan({ projectId: 7, environments: [], reason: 'sweep: interval' });
    await producer.requestScan({ projectId: 7, environments: [], reason: 'deployment hook: created' });
    await producer.requestScan({ projectId: 8, environments: ['production'], reason: 'job hook: manual' });
    expect(await waiting()).toEqual([
      '7:*',
      '7:production',
      '7:review/a b',
      '7:review/a_b',
      '7:staging',
      '8:production',
    ]);
  });

  it("coalesces a burst of hooks' scans, and a webhook's request hurries the sweep's waiting job", async () => {
    const producer = createProducer(queues);
    for (let i = 0; i < 5; i += 1)
      await producer.requestScan({ projectId: 21, environments: [], reason: `pipeline hook ${i}` });
    // the sweep's request meets the hooks' scan still waiting: nothing more
    await producer.requestScan(
      { projectId: 21, environments: [], reason: 'sweep: scheduled', skipOpenCards: true },
      { background: true, delayMs: 0 },
    );
    const scans = (await queues.scan.getJobs(['waiting', 'delayed', 'prioritized'])).filter(
      (job) => job.data.projectId === 21,
    );
    expect(scans.map((job) => [job.data.reason, job.priority, job.opts.delay ?? 0])).toEqual([
      ['pipeline hook 0', 0, SCAN_COALESCE_MS],
    ]);
    // the sweep's sync waits behind webhook work, spread over its interval, until a hook asks for the same one
    await producer.requestSync({ projectId: 21, deploymentId: 210 }, 'sweep: scheduled', {
      background: true,
      delayMs: 60_000,
    });
    const sweeps = await queues.sync.getJobs(['delayed']);
    expect(sweeps.map((job) => [job.data.reason, job.priority])).toEqual([['sweep: scheduled', BACKGROUND_PRIORITY]]);
    await producer.requestSync({ projectId: 21, deploymentId: 210 }, 'deployment hook: blocked');
    const syncs = await queues.sync.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(syncs.map((job) => [job.data.reason, job.priority])).toEqual([['deployment hook: blocked', 0]]);
    expect(await syncs[0]!.getState()).toBe('waiting');
  });
});
