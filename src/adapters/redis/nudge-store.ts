import type { Redis } from 'ioredis';
import type { NudgeState } from '../../core/reminders/nudge-plan.ts';
import type { NudgeStore } from '../../core/reminders/ports.ts';
import type { Keyspace } from './connection.ts';

/** A schedule outlives no deployment by much: waiting ones are re-synced, resolved ones deleted. */
const KEEP_S = 180 * 86_400;

/** KEYS[1] schedule hash; ARGV: expected seq ('' = must not exist), new seq, data, ttl seconds. */
const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'seq')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'data', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
`;

/** Reminder schedules in Redis, one hash per deployment, compare-and-set on seq. */
export function createNudgeStore(redis: Redis, keys: Keyspace): NudgeStore {
  const write = async (expected: number | null, state: NudgeState) =>
    (await redis.eval(
      CAS_SCRIPT,
      1,
      keys.nudge(state.deploymentId),
      expected === null ? '' : String(expected),
      String(state.seq),
      JSON.stringify(state),
      String(KEEP_S),
    )) === 1;
  return {
    async get(deploymentId) {
      const data = await redis.hget(keys.nudge(deploymentId), 'data');
      return data ? (JSON.parse(data) as NudgeState) : null;
    },
    create: (state) => write(null, state),
    replace: (expectedSeq, state) => write(expectedSeq, state),
    async delete(deploymentId) {
      await redis.del(keys.nudge(deploymentId));
    },
  };
}
