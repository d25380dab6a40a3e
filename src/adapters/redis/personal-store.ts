import type { Redis } from 'ioredis';
import { DmRef, type PersonalStore } from '../../core/personal/ports.ts';
import type { SlackUser } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

/** DMs are kept as long as an open card (a deployment may wait for weeks). */
const KEEP_DMS_S = 180 * 86_400;
/** At most this many people are remembered as having opened their Home tab (the newest win). */
export const HOME_AUDIENCE_MAX = 500;

const member = (u: SlackUser) => `${u.teamId}:${u.userId}`;
function userOf(value: string): SlackUser {
  const at = value.indexOf(':');
  return { teamId: value.slice(0, at), userId: value.slice(at + 1) };
}

/**
 * Per-person state in Redis: a set of people who want DMs, one hash per deployment of the DMs sent about it
 * (field team:user, value the DmRef as JSON, '' while claimed), and a bounded zset of Home tab openers.
 */
export function createPersonalStore(redis: Redis, keys: Keyspace): PersonalStore {
  return {
    async dmEnabled(user) {
      return (await redis.sismember(keys.dmSubscribers, member(user))) === 1;
    },
    async setDmEnabled(user, on) {
      if (on) await redis.sadd(keys.dmSubscribers, member(user));
      else await redis.srem(keys.dmSubscribers, member(user));
    },
    async dmSubscribers() {
      return (await redis.smembers(keys.dmSubscribers)).map(userOf);
    },
    async dms(deploymentId) {
      const all = await redis.hgetall(keys.dms(deploymentId));
      // A ref that does not parse is treated like a claim never confirmed: nothing to update, never posted twice.
      return Object.entries(all).map(([field, value]) => ({ user: userOf(field), ref: parseDmRef(value) }));
    },
    async claimDm(deploymentId, user) {
      const results = await redis
        .multi()
        .hsetnx(keys.dms(deploymentId), member(user), '')
        .expire(keys.dms(deploymentId), KEEP_DMS_S)
        .exec();
      const [error, claimed] = results?.[0] ?? [new Error('transaction discarded'), 0];
      if (error) throw error;
      return claimed === 1;
    },
    async saveDm(deploymentId, user, ref) {
      await redis
        .multi()
        .hset(keys.dms(deploymentId), member(user), JSON.stringify(ref))
        .expire(keys.dms(deploymentId), KEEP_DMS_S)
        .exec();
    },
    async releaseDm(deploymentId, user) {
      await redis.hdel(keys.dms(deploymentId), member(user));
    },
    async noteHomeOpened(user, at) {
      await redis
        .multi()
        .zadd(keys.homeAudience, at, member(user))
        .zremrangebyrank(keys.homeAudience, 0, -(HOME_AUDIENCE_MAX + 1))
        .exec();
    },
    async homeAudience(since) {
      await redis.zremrangebyscore(keys.homeAudience, '-inf', `(${since}`);
      return (await redis.zrevrangebyscore(keys.homeAudience, '+inf', since, 'LIMIT', 0, HOME_AUDIENCE_MAX)).map(
        userOf,
      );
    },
  };
}

function parseDmRef(value: string): DmRef | null {
  if (!value) return null;
  try {
    const parsed = DmRef.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
