import type { Redis } from 'ioredis';
import type { Keyspace } from './connection.ts';

/** What /metrics reads of the open cards on every scrape (the same in every process). */
export function createOpenCardStats(redis: Redis, keys: Keyspace) {
  return {
    openCards: () => redis.zcard(keys.openCards),
    /** created time (epoch ms) of the oldest deployment with an open card, null when none */
    async oldestOpenCard(): Promise<number | null> {
      const [, score] = await redis.zrange(keys.openCards, 0, 0, 'WITHSCORES');
      return score === undefined ? null : Number(score);
    },
  };
}
