import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { createPendingIndex } from '../../src/adapters/redis/pending-index.ts';
import { createCardStore } from '../../src/adapters/redis/card-store.ts';
import { createPersonalStore, HOME_AUDIENCE_MAX } from '../../src/adapters/redis/personal-store.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { openCard } from '../fakes/in-memory-personal.ts';
import { waitingDeployment } from '../fixtures/deployments.ts';

describe('Redis: personal state and the open-cards index', () => {
  const prefix = uniquePrefix('personal-store');
  const keys = keyspace(prefix);
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });
  const alice = { teamId: 'T1', userId: 'U0ALICE' };
  const carol = { teamId: 'T1', userId: 'U0CAROL' };

  it('keeps the DM setting per person', async () => {
    const store = createPersonalStore(redis, keys);
    expect(await store.dmEnabled(alice)).toBe(false);
    await store.setDmEnabled(alice, true);
    await store.setDmEnabled(carol, true);
    await store.setDmEnabled(carol, false);
    expect(await store.dmEnabled(alice)).toBe(true);
    expect(await store.dmSubscribers()).toEqual([alice]);
  });

  it('claims one DM per person and deployment, remembers it, and can give the claim back', async () => {
    const store = createPersonalStore(redis, keys);
    expect(await store.claimDm(7, alice)).toBe(true);
    expect(await store.claimDm(7, alice)).toBe(false);
    expect(await store.dms(7)).toEqual([{ user: alice, ref: null }]);
    const ref = { channel: 'D0ALICE', ts: '1.000100', gitlabUserId: 11, fingerprint: 'x' };
    await store.saveDm(7, alice, ref);
    expect(await store.dms(7)).toEqual([{ user: alice, ref }]);
    expect(await redis.ttl(keys.dms(7))).toBeGreaterThan(0);
    expect(await store.claimDm(7, carol)).toBe(true);
    await store.releaseDm(7, carol);
    expect(await store.claimDm(7, carol)).toBe(true);
  });

  it('reads a stored DM ref through its schema: an unreadable one counts as never confirmed', async () => {
    const store = createPersonalStore(redis, keys);
    await redis.hset(keys.dms(8), 'T1:U0ALICE', JSON.stringify({ channel: 'D0ALICE', ts: 7 }));
    await redis.hset(keys.dms(8), 'T1:U0CAROL', '{not json');
    expect(await store.dms(8)).toEqual([
      { user: alice, ref: null },
      { user: carol, ref: null },
    ]);
  });

  it('remembers recent Home tab viewers, newest first, bounded in number and time', async () => {
    const store = createPersonalStore(redis, keys);
    for (let i = 0; i < HOME_AUDIENCE_MAX + 5; i++)
      await store.noteHomeOpened({ teamId: 'T1', userId: `U${i}` }, 1_000 + i);
    expect(await redis.zcard(keys.homeAudience)).toBe(HOME_AUDIENCE_MAX);
    const recent = await store.homeAudience(1_000 + HOME_AUDIENCE_MAX + 2);
    expect(recent.map((u) => u.userId)).toEqual([
      `U${HOME_AUDIENCE_MAX + 4}`,
      `U${HOME_AUDIENCE_MAX + 3}`,
      `U${HOME_AUDIENCE_MAX + 2}`,
    ]);
    // older ones are forgotten once asked for
    expect(await redis.zcard(keys.homeAudience)).toBe(3);
  });

  it('reads the open cards newest first in one round trip, skipping ids whose record is gone', async () => {
    const cards = createCardStore(redis, keys);
    const index = createPendingIndex(redis, keys);
    await cards.create(openCard(waitingDeployment({ id: 1, createdAt: '2026-11-23T09:00:00Z' })));
    await cards.create(openCard(waitingDeployment({ id: 2, createdAt: '2026-11-23T10:00:00Z' })));
    await cards.create(openCard(waitingDeployment({ id: 3, createdAt: '2026-11-23T11:00:00Z' })));
    await redis.del(keys.card(2));
    expect((await index.list(10)).map((r) => r.deploymentId)).toEqual([3, 1]);
    expect((await index.list(1)).map((r) => r.deploymentId)).toEqual([3]);
  });
});
