import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelPacer, type ChannelPacer, type PaceDecision } from '../../src/adapters/redis/channel-pacer.ts';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

const INTERVAL = 100;
const POSTS = 16;

describe('channel pacer (real Redis, shared by several "processes")', () => {
  const prefix = uniquePrefix('pacer');
  const connections: Redis[] = [];
  let pacers: ChannelPacer[];

  beforeAll(() => {
    // three processes, each with its own connection, one Redis
    pacers = [0, 1, 2].map(() => {
      const redis = new Redis(TEST_REDIS_URL);
      connections.push(redis);
      return createChannelPacer(redis, keyspace(prefix), { intervalMs: INTERVAL, maxSleepMs: 150 });
    });
  });
  afterAll(async () => {
    for (const c of connections) c.disconnect();
    await cleanupPrefix(prefix);
  });

  /** Like a job: sleeps short waits, otherwise "is delayed" and comes back with the same ticket. */
  const post = async (
    pacer: ChannelPacer,
    channel: string,
    ticket: string,
    log: Array<{ ticket: string; at: number; first: PaceDecision }>,
    delays: { count: number },
  ) => {
    let first: PaceDecision | undefined;
    for (;;) {
      const decision = await pacer.acquire(channel, ticket);
      first ??= decision;
      if (decision.kind === 'go') {
        // the granted slot on Redis's clock (measuring here would measure this machine's timer jitter)
        log.push({ ticket, at: decision.slot, first });
        await sleep(decision.sleepMs);
        return;
      }
      delays.count += 1;
      await sleep(decision.retryAfterMs);
    }
  };

  it('spaces a burst of posts to one channel, loses none, and delays instead of sleeping long', async () => {
    const log: Array<{ ticket: string; at: number; first: PaceDecision }> = [];
    const delays = { count: 0 };
    await Promise.all(
      Array.from({ length: POSTS }, (_, i) => post(pacers[i % 3]!, 'C0BURST', `post-${i}`, log, delays)),
    );
    expect(log.map((l) => l.ticket).sort()).toEqual(Array.from({ length: POSTS }, (_, i) => `post-${i}`).sort());
    const times = log.map((l) => l.at).sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTERVAL);
    // The burst asked at once and was planned back to back (16 posts at 100 ms: about 1.6 s); slots on Redis's
    // clock, so how late this busy machine brought each post back does not enter: none sleeps long, far-away
    // slots are waited for by delaying, and a post that comes back is never put behind its reserved slot's
    // predecessors again (it keeps its slot or, came back late, goes at once or right after who went meanwhile).
    const planned = log.map((l) => l.first.slot).sort((a, b) => a - b);
    expect(planned.slice(1).map((t, i) => t - planned[i]!)).toEqual(Array(POSTS - 1).fill(INTERVAL));
    for (const { first } of log) {
      if (first.kind === 'go') expect(first.sleepMs).toBeLessThanOrEqual(150);
      else expect(first.retryAfterMs).toBeGreaterThan(150);
    }
    for (const { at, first } of log) expect(at).toBeGreaterThanOrEqual(first.slot);
    expect(delays.count).toBeGreaterThan(0);
    expect(delays.count).toBeLessThan(POSTS * 3);
  });

  it("keeps a ticket's slot when the same post comes back, and does not let other channels wait", async () => {
    const [a, b] = [pacers[0]!, pacers[1]!];
    for (let i = 0; i < 5; i += 1) await a.acquire('C0FAIR', `filler-${i}`);
    const first = await a.acquire('C0FAIR', 'mine');
    expect(first.kind).toBe('later');
    // another process asking for the same post gets the same slot, not a new one at the end of the line
    const again = await b.acquire('C0FAIR', 'mine');
    expect(again).toMatchObject({ kind: 'later', slot: first.slot });
    expect(await b.acquire('C0OTHER', 'x')).toMatchObject({ kind: 'go', sleepMs: 0 });
  });

  it('closes a channel for every process after Slack answered 429', async () => {
    const [seconds, micros] = await connections[0]!.time();
    const before = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000); // Redis's clock, like the pacer's
    await pacers[0]!.penalize('C0THROTTLED', 2_000);
    const decision = await pacers[2]!.acquire('C0THROTTLED', 'after-429');
    expect(decision.kind).toBe('later');
    // nobody posts before Retry-After: the slot is 2 s after the 429 at the earliest, however long this took
    expect(decision.slot).toBeGreaterThanOrEqual(before + 2_000);
  });
});
