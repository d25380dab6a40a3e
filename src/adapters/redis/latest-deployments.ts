import type { Redis } from 'ioredis';
import type { LatestDeployments } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

const KEEP_S = 90 * 86_400;

/**
 * KEYS[1] the environment's hash {id, url, previous}; ARGV: candidate id, its url, ttl seconds.
 * Replaces the newest deployment only by a higher id, remembering the one replaced; returns
 * {id, url, previous or false, 1 if replaced now}.
 */
const NOTE_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'id') or '0')
local replaced = 0
if tonumber(ARGV[1]) > current then
  if current > 0 then
    redis.call('HSET', KEYS[1], 'previous', tostring(current))
  else
    redis.call('HDEL', KEYS[1], 'previous')
  end
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'url', ARGV[2])
  replaced = 1
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
local h = redis.call('HMGET', KEYS[1], 'id', 'url', 'previous')
return {h[1], h[2], h[3], replaced}
`;

export function createLatestDeployments(redis: Redis, keys: Keyspace): LatestDeployments {
  return {
    async note(environment, candidate) {
      const [id, url, previous, replaced] = (await redis.eval(
        NOTE_SCRIPT,
        1,
        keys.latestDeployment(environment.projectId, environment.environmentId),
        String(candidate.id),
        candidate.url,
        String(KEEP_S),
      )) as [string, string, string | null, number];
      return {
        newest: { id: Number(id), url },
        replaced: replaced === 1,
        previous: previous ? Number(previous) : null,
      };
    },
  };
}
