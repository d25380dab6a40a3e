import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCardStore } from '../../src/adapters/redis/card-store.ts';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { createSweepState } from '../../src/adapters/redis/sweep-state.ts';
import { openCard } from '../fakes/in-memory-personal.ts';
import { waitingDeployment } from '../fixtures/deployments.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

describe("Redis: the sweep's open cards", () => {
  const prefix = uniquePrefix('sweep-state');
  const keys = keyspace(prefix);
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('reads every open card, however many (none left out of a sweep), skipping ids whose record is gone', async () => {
    const cards = createCardStore(redis, keys);
    // more than the 5,000 a sweep once read at most
    const n = 5_123;
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    await Promise.all(ids.map((id) => cards.create(openCard(waitingDeployment({ id }), { projectId: 1 + (id % 7) }))));
    await redis.del(keys.card(1_000));
    const refs = await createSweepState(redis, keys, cards).openCards();
    expect(refs).toHaveLength(n - 1);
    expect(new Set(refs.map((r) => r.deploymentId)).size).toBe(n - 1);
    expect(refs.every((r) => r.projectId === 1 + (r.deploymentId % 7))).toBe(true);
  });
});
