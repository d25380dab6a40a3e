import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { createProjectDirectoryStore } from '../../src/adapters/redis/project-directory.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

describe("the sweep's project directory in Redis", () => {
  const prefix = uniquePrefix('project-directory');
  let redis: Redis;
  let store: ReturnType<typeof createProjectDirectoryStore>;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
    store = createProjectDirectoryStore(redis, keyspace(prefix));
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('drops projects only after a complete listing', async () => {
    await store.startListing();
    await store.addListed([1, 2, 3]);
    await store.finishListing({ complete: true, freshForMs: 60_000, at: 1_000 });
    expect((await store.listedProjects()).sort()).toEqual([1, 2, 3]);
    expect(await store.listedAt()).toBe(1_000);
    // a group could not be listed: nothing is dropped, what was seen is added
    await store.startListing();
    await store.addListed([4]);
    await store.finishListing({ complete: false, freshForMs: 60_000, at: 2_000 });
    expect((await store.listedProjects()).sort()).toEqual([1, 2, 3, 4]);
    await store.startListing();
    await store.addListed([2, 4]);
    await store.finishListing({ complete: true, freshForMs: 60_000, at: 3_000 });
    expect((await store.listedProjects()).sort()).toEqual([2, 4]);
    // a listing that is not fresh (cut short by a rate limit) leaves the last one's freshness as it was
    await store.startListing();
    await store.addListed([5]);
    await store.finishListing({ complete: false, freshForMs: 0, at: 4_000 });
    expect(await store.listedAt()).toBe(3_000);
    expect((await store.listedProjects()).sort()).toEqual([2, 4, 5]);
  });

  it('lists never-classified projects first, then the oldest classifications', async () => {
    await store.recordClassification(10, true, 5_000);
    await store.recordClassification(11, false, 3_000);
    await store.recordClassification(12, false, 9_000);
    expect(await store.classificationDue([10, 11, 12, 13], 6_000)).toEqual([13, 11, 10]);
    expect(await store.canBlock()).toEqual([10]);
    await store.recordClassification(10, false, 7_000);
    expect(await store.canBlockProject(10)).toBe(false);
    await store.classifyAgain(12);
    expect(await store.classifiedAt(12)).toBeNull();
  });

  it('keeps project info, and forgets everything of a project GitLab no longer shows', async () => {
    await store.saveInfo([{ id: 20, path: 'acme/web', name: 'web', webUrl: 'https://gitlab.test/acme/web', at: 42 }]);
    expect(await store.info(20)).toEqual({
      id: 20,
      path: 'acme/web',
      name: 'web',
      webUrl: 'https://gitlab.test/acme/web',
      at: 42,
    });
    await store.startListing();
    await store.addListed([20]);
    await store.finishListing({ complete: true, freshForMs: 60_000, at: 1 });
    await store.recordClassification(20, true, 1);
    await store.forget(20);
    expect(await store.info(20)).toBeNull();
    expect(await store.listedProjects()).toEqual([]);
    expect(await store.canBlock()).not.toContain(20);
    expect(await store.classifiedAt(20)).toBeNull();
  });

  it('resolves policy paths case-insensitively', async () => {
    await store.saveResolvedId('Acme/Web', 7);
    expect(await store.resolvedId('acme/web')).toBe(7);
    expect(await store.resolvedId('acme/other')).toBeNull();
  });
});
