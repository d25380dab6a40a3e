import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer, createQueues, type Producer, type Queues } from '../../../src/adapters/queue/queues.ts';
import { keyspace } from '../../../src/adapters/redis/connection.ts';
import type { IntakeEvent } from '../../../src/entrypoints/http/webhook-events.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../../helpers/redis.ts';

const event = (deploymentId: number): IntakeEvent => ({ kind: 'deployment', projectId: 1, projectPath: 'acme/web', deploymentId, status: 'blocked', statusChangedAt: null, environment: 'production' });

describe('producer: webhook intake (real Redis)', () => {
  const prefix = uniquePrefix('producer');
  let connection: Redis;
  let queues: Queues;
  let producer: Producer;
  beforeAll(() => {
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    queues = createQueues(connection, keyspace(prefix).bullPrefix);
    producer = createProducer(queues);
  });
  afterAll(async () => {
    await queues.close();
    connection.disconnect();
    await cleanupPrefix(prefix);
  });

  it('queues a delivery once and calls the same delivery again a duplicate', async () => {
    expect(await producer.enqueueWebhook(event(1), 'a1b2c3d4-0000-4000-8000-000000000001')).toBe('queued');
    expect(await producer.enqueueWebhook(event(1), 'a1b2c3d4-0000-4000-8000-000000000001')).toBe('duplicate');
    expect(await queues.intake.getJobCountByTypes('waiting')).toBe(1);
    const job = await queues.intake.getJob('hook-a1b2c3d4-0000-4000-8000-000000000001');
    expect(job?.data).toEqual(event(1));
  });

  it('queues distinct deliveries sent at the same time, and reports a concurrent duplicate at most once as queued', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    const results = await Promise.all(keys.map((key, i) => producer.enqueueWebhook(event(100 + i), key)));
    expect(results.every((r) => r === 'queued')).toBe(true);
    const same = await Promise.all([producer.enqueueWebhook(event(7), 'same'), producer.enqueueWebhook(event(7), 'same')]);
    expect(same.filter((r) => r === 'queued').length).toBeGreaterThanOrEqual(1);
    expect(await queues.intake.getJobCountByTypes('waiting')).toBe(1 + keys.length + 1);
  });

  it('queues a delivery again once its job is gone (removed after completion)', async () => {
    expect(await producer.enqueueWebhook(event(2), 'gone-later')).toBe('queued');
    await (await queues.intake.getJob('hook-gone-later'))!.remove();
    expect(await producer.enqueueWebhook(event(2), 'gone-later')).toBe('queued');
  });
});
