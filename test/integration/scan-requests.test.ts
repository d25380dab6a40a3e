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

  it("coalesces a burst of hooks' scans; the sweep's jobs wait behind them and never hide them", async () => {
    const producer = createProducer(queues);
    for (let i = 0; i < 5; i += 1)
      await producer.requestScan({ projectId: 21, environments: [], reason: `pipeline hook ${i}` });
    await producer.requestScan(
      { projectId: 21, environments: [], reason: 'sweep: scheduled', skipOpenCards: true },
      { background: true, delayMs: 0 },
    );
    await producer.requestSync({ projectId: 21, deploymentId: 210 }, 'sweep: scheduled', { background: true });
    await producer.requestSync({ projectId: 21, deploymentId: 210 }, 'deployment hook: blocked');
    const scans = (await queues.scan.getJobs(['waiting', 'delayed', 'prioritized'])).filter(
      (job) => job.data.projectId === 21,
    );
    expect(scans.map((job) => [job.data.reason, job.opts.priority ?? 0, job.opts.delay ?? 0]).sort()).toEqual([
      ['pipeline hook 0', 0, SCAN_COALESCE_MS],
      ['sweep: scheduled', BACKGROUND_PRIORITY, 0],
    ]);
    const syncs = await queues.sync.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(syncs.map((job) => [job.data.reason, job.opts.priority ?? 0]).sort()).toEqual([
      ['deployment hook: blocked', 0],
      ['sweep: scheduled', BACKGROUND_PRIORITY],
    ]);
  });
});
