import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/adapters/queue/declarations.ts';
import { createQueueFactory, type QueueFactory } from '../../src/adapters/queue/factory.ts';
import { createProducer, createQueues } from '../../src/adapters/queue/queues.ts';
import { CapturingLogger } from '../fakes/in-memory.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

describe('queue factory (real Redis): every queue from its declaration', () => {
  const prefix = uniquePrefix('queue-factory');
  const logger = new CapturingLogger();
  let connection: Redis;
  let workerConnection: Redis;
  let factory: QueueFactory;

  beforeAll(() => {
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    workerConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    factory = createQueueFactory({ connection, workerConnection, prefix, logger, stallTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await factory.close();
    connection.disconnect();
    workerConnection.disconnect();
    await cleanupPrefix(prefix);
  });

  it('gives every queue and worker an error listener and the stall options', async () => {
    expect(await factory.ready()).toBe(true);
    for (const name of QUEUE_NAMES) expect(factory.queue(name).listenerCount('error'), name).toBeGreaterThan(0);
    const worker = factory.worker('notices', async () => 'done');
    expect(worker.listenerCount('error')).toBeGreaterThan(0);
    expect(worker.opts).toMatchObject({ lockDuration: 1_000, stalledInterval: 500, maxStalledCount: 2 });
    worker.emit('error', new Error('NOSCRIPT No matching script'));
    expect(logger.lines.find((l) => l.msg === 'worker error')).toMatchObject({ queue: 'notices', level: 'error' });
    // Redis unreachable: said once per reconnect attempt by the commands connection (watchReconnects), not here
    worker.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    expect(logger.lines.filter((l) => l.msg === 'worker error').map((l) => l.level)).toEqual(['error', 'debug']);
  });

  it('fails a job whose data does not fit its queue for good, without calling the handler', async () => {
    const seen: unknown[] = [];
    factory.worker('sync', async (job) => void seen.push(job.data));
    const queue = factory.queue('sync');
    const bad = await queue.add('sync', { projectId: 'not a number' } as never);
    const good = await queue.add('sync', { projectId: 1, deploymentId: 2, reason: 'test' });
    await waitFor(async () => (await queue.getJobState(bad.id!)) === 'failed' && (await good.isCompleted()), {
      what: 'both jobs done',
    });
    expect(seen).toEqual([{ projectId: 1, deploymentId: 2, reason: 'test' }]);
    expect((await queue.getJob(bad.id!))?.attemptsMade).toBe(1);
    expect(logger.lines.find((l) => l.msg === 'job data unreadable')).toMatchObject({ queue: 'sync' });
  });

  it('stores a webhook delivery once per delivery key, however often GitLab sends it', async () => {
    const producer = createProducer(createQueues(factory));
    const event = { kind: 'job', projectId: 3, status: 'manual', environment: null, failureReason: null } as const;
    expect(await producer.enqueueWebhook(event, 'a1b2')).toBe('queued');
    expect(await producer.enqueueWebhook(event, 'a1b2')).toBe('duplicate');
    expect(await producer.enqueueWebhook(event, 'c3d4')).toBe('queued');
    expect(await factory.queue('intake').getWaitingCount()).toBe(2);
    // handled, the delivery is still remembered: GitLab's "Resend request" of it adds nothing
    const handled: string[] = [];
    factory.worker('intake', async (job) => void handled.push(job.data.deliveryKey));
    await waitFor(async () => (await factory.queue('intake').getCompletedCount()) === 2, {
      what: 'deliveries handled',
    });
    expect(await producer.enqueueWebhook(event, 'a1b2')).toBe('duplicate');
    expect(handled.sort()).toEqual(['a1b2', 'c3d4']);
  });
});
