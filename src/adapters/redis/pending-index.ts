import type { Redis } from 'ioredis';
import type { PendingIndex } from '../../core/pending/list-pending.ts';
import type { CardRecord } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

/** The open cards, newest first, read from the card store's index in one round trip (no GitLab call). */
export function createPendingIndex(redis: Redis, keys: Keyspace): PendingIndex {
  return {
    async list(limit) {
      const ids = await redis.zrevrange(keys.openCards, 0, limit - 1);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(keys.card(Number(id)), 'data');
      const results = (await pipeline.exec()) ?? [];
      const records: CardRecord[] = [];
      for (const [error, data] of results) {
        if (error) throw error;
        // An id without a record expired or was deleted in between: nothing to list.
        if (typeof data === 'string') records.push(JSON.parse(data) as CardRecord);
      }
      return records;
    },
  };
}
