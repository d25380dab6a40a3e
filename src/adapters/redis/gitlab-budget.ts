import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyspace } from './connection.ts';

/**
 * GitLab limits requests per token (GitLab.com: 2,000 a minute per user, 400 a minute for GET /projects/:id).
 * Every greenlight process asks this budget before each request, so all queues and replicas share one budget
 * per token. The budget lives in Redis; tokens never do (keys carry a hash of the token).
 *
 * The algorithm is GCRA (a token bucket kept as one timestamp per bucket): a bucket of `perMinute` requests a
 * minute keeps its "theoretical arrival time" (tat); a request conforms when, after it, tat - now stays within
 * `burst` request intervals. A lane's `reserve` is a number of intervals it must leave free, so background work
 * (the sweep) stops taking while interactive work (clicks, commands) can still go at once.
 *
 * Hand-written rather than rate-limiter-flexible: one request takes from several buckets at once (the token's,
 * an endpoint's, the sweep's) or from none, a shared pause (GitLab said 429) is checked in the same step, and
 * reserves per lane are part of the decision; the library takes from one limiter at a time and has no reserves.
 *
 * KEYS[1] pause key (ms timestamp until which nobody sends), KEYS[2..] bucket keys (tat in ms).
 * ARGV[1] now in ms, or '' for Redis's own clock (one clock for every replica); then per bucket:
 * interval ms, burst (requests), reserve (requests).
 * Returns {0} (go), {1, wait ms, bucket index} (over a bucket), or {2, wait ms} (paused).
 */
const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local pausedUntil = tonumber(redis.call('GET', KEYS[1]) or '0')
if pausedUntil > now then return {2, math.ceil(pausedUntil - now)} end
local wait, over = 0, 0
local next = {}
for i = 2, #KEYS do
  local a = 2 + (i - 2) * 3
  local interval, burst, reserve = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), now)
  local after = tat + interval
  local excess = after - now - (burst - reserve) * interval
  -- (tat sums fractional intervals: a rounding error of a microsecond is no excess)
  if excess > 0.001 and excess > wait then wait, over = excess, i - 1 end
  next[i] = after
end
if wait > 0 then return {1, math.ceil(wait), over} end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], tostring(next[i]), 'PX', math.ceil(next[i] - now) + 1000)
end
return {0}
`;

/** Nobody sends with this token before now + ARGV[2] ms (a later pause already set is kept). */
const PAUSE_SCRIPT = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ms = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then redis.call('SET', KEYS[1], tostring(now + ms), 'PX', ms) end
return math.ceil(math.max(current, now + ms) - now)
`;

/** Who is asking: clicks and commands go first, webhook work next, the sweep only while a reserve remains. */
export type GitLabLane = 'interactive' | 'normal' | 'background';

/** A budget of requests a minute; `burst`: how many may go at once after a quiet spell. */
export type Bucket = { name: BucketName; perMinute: number; burst: number };
/** `api`: every request of the token; `project`: GET /projects/:id; `sweep`: the sweep's own pace */
export type BucketName = 'api' | 'project' | 'sweep';

export type BudgetVerdict = { kind: 'go' } | { kind: 'wait'; ms: number; reason: 'paused' | BucketName };

export type GitLabBudgetStore = {
  take(tokenKey: string, buckets: readonly Bucket[], lane: GitLabLane): Promise<BudgetVerdict>;
  /** Every caller of this token waits `ms` (GitLab said 429, or RateLimit-Remaining reached 0). */
  pause(tokenKey: string, ms: number): Promise<number>;
};

/** What part of a bucket's burst each lane must leave untouched. */
const RESERVE: Record<GitLabLane, number> = { interactive: 0, normal: 0.25, background: 0.5 };

/** A bucket's key part for a token: never the token, only a short hash of it. */
export function tokenKeyOf(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** `now`: tests pass a clock; production leaves it out and every replica uses Redis's clock. */
export function createGitLabBudgetStore(
  redis: Redis,
  keys: Keyspace,
  opts: { now?: () => number } = {},
): GitLabBudgetStore {
  const now = () => (opts.now ? String(Math.round(opts.now())) : '');
  return {
    async take(tokenKey, buckets, lane) {
      const args = buckets.flatMap((b) => {
        const reserve = b.name === 'sweep' ? 0 : Math.floor(b.burst * RESERVE[lane]);
        return [String(60_000 / b.perMinute), String(b.burst), String(Math.min(reserve, b.burst - 1))];
      });
      const result = (await redis.eval(
        TAKE_SCRIPT,
        1 + buckets.length,
        keys.gitlabPause(tokenKey),
        ...buckets.map((b) => keys.gitlabBudget(tokenKey, b.name)),
        now(),
        ...args,
      )) as number[];
      if (result[0] === 0) return { kind: 'go' };
      if (result[0] === 2) return { kind: 'wait', ms: result[1]!, reason: 'paused' };
      return { kind: 'wait', ms: result[1]!, reason: buckets[result[2]! - 1]!.name };
    },
    async pause(tokenKey, ms) {
      return (await redis.eval(
        PAUSE_SCRIPT,
        1,
        keys.gitlabPause(tokenKey),
        now(),
        String(Math.max(1, Math.round(ms))),
      )) as number;
    },
  };
}

/** A bucket's burst: five seconds of its rate, so no minute (GitLab counts fixed minutes) exceeds rate + 1/12. */
export function bucket(name: BucketName, perMinute: number): Bucket {
  return { name, perMinute, burst: Math.max(1, Math.floor(perMinute / 12)) };
}
