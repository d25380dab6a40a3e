import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of its own for each test file (and each app instance in it), so files can run in parallel. */
export function uniquePrefix(name: string): string {
  return `gltest-${name}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Deletes every key under the prefix (BullMQ keys included). */
export async function cleanupPrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
