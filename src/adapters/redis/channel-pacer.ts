import type { Redis } from 'ioredis';
import type { Keyspace } from './connection.ts';

/**
 * Slack accepts about one chat.postMessage per second per channel. Every greenlight process asks this
 * pacer (one Redis script, Redis's own clock) before posting, so posts to one channel are spaced by
 * `intervalMs` across all replicas.
 *
 * A caller either gets a grant ("post in N ms", N <= maxSleepMs: short enough to wait in place) or a
 * ticket for a later slot ("come back in N ms": the job is delayed, no worker sleeps). The ticket is
 * keyed by what is being posted, so the same post coming back finds its slot reserved instead of
 * queueing again at the end; tickets that never come back simply expire.
 *
 * KEYS[1] channel hash {last: ms of the last granted post, next: first unreserved slot}, KEYS[2] ticket;
 * ARGV: interval ms, max sleep ms. Returns {ms to sleep before posting (>= 0) or -(ms to come back), slot}.
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local maxSleep = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local horizon = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local ticket = redis.call('GET', KEYS[2])
local slot
if ticket then
  slot = math.max(tonumber(ticket), last + interval, now)
else
  slot = math.max(now, horizon, last + interval)
end
if slot - now <= maxSleep then
  local horizonAfter = math.max(horizon, slot + interval)
  redis.call('HSET', KEYS[1], 'last', slot, 'next', horizonAfter)
  redis.call('PEXPIRE', KEYS[1], horizonAfter - now + 60000)
  redis.call('DEL', KEYS[2])
  return {slot - now, slot}
end
if not ticket then
  redis.call('HSET', KEYS[1], 'next', slot + interval)
  redis.call('PEXPIRE', KEYS[1], slot + interval - now + 60000)
  redis.call('SET', KEYS[2], slot, 'PX', slot - now + 600000)
end
return {now - slot, slot}
`;

/** Slack said 429 anyway (another app on the token, a burst elsewhere): nobody posts before Retry-After. */
const PENALIZE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = now + tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local horizon = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
redis.call('HSET', KEYS[1], 'last', math.max(last, free - interval), 'next', math.max(horizon, free))
redis.call('PEXPIRE', KEYS[1], math.max(horizon, free) - now + 60000)
return 1
`;

/** `slot`: the granted or reserved time on Redis's clock (epoch ms). */
export type PaceDecision =
  { kind: 'go'; sleepMs: number; slot: number } | { kind: 'later'; retryAfterMs: number; slot: number };

export type ChannelPacer = {
  /** `ticket` names the post (the same post asking again keeps its slot). */
  acquire(channel: string, ticket: string): Promise<PaceDecision>;
  /** Nobody posts to `channel` for `ms`. */
  penalize(channel: string, ms: number): Promise<void>;
};

/** About 1 post/s/channel with a margin for network jitter (posts are timed when they leave, not when they land). */
export const DEFAULT_POST_INTERVAL_MS = 1_100;
/** Waits up to this long are slept in place; longer ones delay the job (no worker slot held). */
export const DEFAULT_MAX_SLEEP_MS = 1_500;

export function createChannelPacer(
  redis: Redis,
  keys: Keyspace,
  opts: { intervalMs?: number; maxSleepMs?: number } = {},
): ChannelPacer {
  const interval = String(opts.intervalMs ?? DEFAULT_POST_INTERVAL_MS);
  const maxSleep = String(opts.maxSleepMs ?? DEFAULT_MAX_SLEEP_MS);
  return {
    async acquire(channel, ticket) {
      const [wait, slot] = (await redis.eval(
        ACQUIRE_SCRIPT,
        2,
        keys.pace(channel),
        keys.paceTicket(channel, ticket),
        interval,
        maxSleep,
      )) as [number, number];
      return wait >= 0 ? { kind: 'go', sleepMs: wait, slot } : { kind: 'later', retryAfterMs: -wait, slot };
    },
    async penalize(channel, ms) {
      await redis.eval(PENALIZE_SCRIPT, 1, keys.pace(channel), String(Math.max(0, Math.round(ms))), interval);
    },
  };
}
