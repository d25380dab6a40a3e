import type { Redis } from 'ioredis';
import { isResolved } from '../../core/deployments/deployment.ts';
import type { CardRecord, CardStore } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

const KEEP_RESOLVED_S = 30 * 86_400;
const KEEP_OPEN_S = 180 * 86_400;

/**
 * KEYS[1] card hash, KEYS[2] open-cards zset, KEYS[3] the data marker (data-guard.ts) or the card hash again when
 * none is required; ARGV: expected version ('' = must not exist), new version, data, ttl seconds, deployment id, open
 * score ('' = resolved). -1: a record to create, and the marker gone.
 */
const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if current then return 0 end
  if KEYS[3] ~= KEYS[1] and redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'data', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[2], ARGV[5])
else
  redis.call('ZADD', KEYS[2], tonumber(ARGV[6]), ARGV[5])
end
return 1
`;

/**
 * `requireDataMarker`: a record is created only while Redis still holds greenlight's data marker (data-guard.ts).
 * Redis may lose its data between a sync's look for a lost card and its claim: without its record, the card is
 * looked for in Slack (sync-card.ts, adoptLostCard) only once the loss is noticed, so a claim after an unnoticed
 * loss throws instead, and the sync's retry notices it and adopts the card instead of posting a second one.
 */
export function createCardStore(
  redis: Redis,
  keys: Keyspace,
  opts: { requireDataMarker?: boolean } = {},
): CardStore & { openCardIds(limit?: number, offset?: number): Promise<number[]> } {
  async function write(expected: number | null, record: CardRecord): Promise<boolean> {
    const resolved = isResolved(record.state);
    const card = keys.card(record.deploymentId);
    const result = await redis.eval(
      CAS_SCRIPT,
      3,
      card,
      keys.openCards,
      opts.requireDataMarker ? keys.dataMarker : card,
      expected === null ? '' : String(expected),
      String(record.version),
      JSON.stringify(record),
      String(resolved ? KEEP_RESOLVED_S : KEEP_OPEN_S),
      String(record.deploymentId),
      resolved ? '' : String(Date.parse(record.snapshot.createdAt) || record.claimedAt),
    );
    if (result === -1) throw new Error('redis lost greenlight data (no data marker): the card is not claimed');
    return result === 1;
  }
  return {
    async get(deploymentId) {
      const data = await redis.hget(keys.card(deploymentId), 'data');
      return data ? (JSON.parse(data) as CardRecord) : null;
    },
    create: (record) => write(null, record),
    replace: (expectedVersion, record) => write(expectedVersion, record),
    async delete(deploymentId) {
      await redis.multi().del(keys.card(deploymentId)).zrem(keys.openCards, String(deploymentId)).exec();
    },
    async openCardIds(limit = 1000, offset = 0) {
      const ids = await redis.zrevrange(keys.openCards, offset, offset + limit - 1);
      return ids.map(Number);
    },
  };
}
