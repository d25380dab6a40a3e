import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RangeChanges, RangeKey, RangeStore } from '../../core/cards/changes-summary.ts';
import type { Keyspace } from './connection.ts';

/** A day: re-renders, follow-up syncs and the Changes modal of a waiting card read it instead of GitLab. */
const KEEP_S = 86_400;
/** A range read without its merge requests: long enough for the follow-up sync, then read again. */
const KEEP_PARTIAL_S = 300;

const User = z.object({ id: z.number(), username: z.string(), name: z.string() });

export const RangeChangesSchema = z.object({
  kind: z.enum(['forward', 'rollback', 'same', 'unknown']),
  count: z.number(),
  more: z.boolean(),
  commits: z.array(
    z.object({
      sha: z.string(),
      title: z.string(),
      authorName: z.string(),
      webUrl: z.string().nullable(),
      mergeRequestIid: z.number().optional(),
    }),
  ),
  mergeRequests: z.array(
    z.object({
      iid: z.number(),
      title: z.string(),
      webUrl: z.string(),
      author: User.nullable(),
      shas: z.array(z.string()),
    }),
  ),
}) satisfies z.ZodType<RangeChanges>;

/**
 * The commits and merge requests between two shas, shared by every process: keyed by project and the two shas
 * (shas GitLab gave, checked to be hex before they become a key), kept a day, at most 50 commits and 50 merge
 * requests each.
 */
export function createChangesStore(redis: Redis, keys: Keyspace): RangeStore {
  const key = (k: RangeKey) => keys.changes(k.projectId, k.from, k.to);
  return {
    async get(k) {
      const raw = await redis.get(key(k));
      if (!raw) return null;
      try {
        const parsed = RangeChangesSchema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : null;
      } catch {
        return null;
      }
    },
    async put(k, value, opts) {
      await redis.set(key(k), JSON.stringify(value), 'EX', opts?.partial ? KEEP_PARTIAL_S : KEEP_S);
    },
  };
}
