import { Redis } from 'ioredis';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import {
  bucket,
  createGitLabBudgetStore,
  tokenKeyOf,
  type GitLabLane,
} from '../../src/adapters/redis/gitlab-budget.ts';
import { createGitLabGate, withGitLabLane } from '../../src/adapters/gitlab/request-budget.ts';
import { isGreenlightError } from '../../src/core/errors.ts';
import { CapturingLogger } from '../fakes/in-memory.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

/** A clock the test moves; the budget reads it instead of Redis's, so nothing here sleeps. */
function testClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('GitLab request budget (real Redis, test clock)', () => {
  const prefixes: string[] = [];
  const connections: Redis[] = [];
  /** `replicas` budgets over one Redis prefix, each with its own connection, as separate processes would be. */
  const budgets = (replicas: number, clock: { now(): number }) => {
    const prefix = uniquePrefix('gitlab-budget');
    prefixes.push(prefix);
    return Array.from({ length: replicas }, () => {
      const redis = new Redis(TEST_REDIS_URL);
      connections.push(redis);
      return createGitLabBudgetStore(redis, keyspace(prefix), { now: clock.now });
    });
  };
  afterAll(async () => {
    for (const c of connections) c.disconnect();
    for (const p of prefixes) await cleanupPrefix(p);
  });

  const token = tokenKeyOf('glpat-secret');

  it('keys the budget by a hash of the token, never the token', async () => {
    const clock = testClock();
    const [store] = budgets(1, clock);
    await store!.take(token, [bucket('api', 60)], 'normal');
    await store!.pause(token, 1_000);
    const keys = await connections.at(-1)!.keys(`*${prefixes.at(-1)}*`);
    expect(keys.length).toBe(2);
    for (const key of keys) expect(key).not.toContain('glpat-secret');
  });

  it('grants a burst of rate/12, then one request per interval, shared by every replica', async () => {
    const clock = testClock();
    const replicas = budgets(3, clock);
    const api = bucket('api', 600); // 100 ms apart, burst 50
    let granted = 0;
    // round-robin over the replicas while the clock stands still: only the burst goes
    for (let i = 0; i < 90; i++)
      if ((await replicas[i % 3]!.take(token, [api], 'interactive')).kind === 'go') granted += 1;
    expect(granted).toBe(50);
    const refused = await replicas[0]!.take(token, [api], 'interactive');
    expect(refused).toEqual({ kind: 'wait', ms: 100, reason: 'api' });
    // each 100 ms frees exactly one more request
    for (let step = 0; step < 10; step++) {
      clock.advance(100);
      const verdicts = await Promise.all(replicas.map((r) => r.take(token, [api], 'interactive')));
      expect(verdicts.filter((v) => v.kind === 'go')).toHaveLength(1);
    }
  });

  it('never lets more than rate + burst through in any minute, whatever the arrival pattern', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 50, maxLength: 300 }), async (gaps) => {
        const clock = testClock();
        const [store] = budgets(1, clock);
        const api = bucket('api', 120); // 500 ms apart, burst 10
        const grants: number[] = [];
        for (const gap of gaps) {
          clock.advance(gap);
          for (let i = 0; i < 3; i++)
            if ((await store!.take(token, [api], 'normal')).kind === 'go') grants.push(clock.now());
        }
        for (const start of grants) {
          const inMinute = grants.filter((t) => t >= start && t < start + 60_000).length;
          expect(inMinute).toBeLessThanOrEqual(120 + 10);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('takes from every bucket of a request or from none (GET /projects/:id and the sweep share)', async () => {
    const clock = testClock();
    const [store] = budgets(1, clock);
    const api = bucket('api', 1800);
    const project = bucket('project', 360); // burst 30
    let projectReads = 0;
    for (let i = 0; i < 40; i++)
      if ((await store!.take(token, [api, project], 'interactive')).kind === 'go') projectReads += 1;
    expect(projectReads).toBe(30);
    // the api bucket kept what the refused project reads did not use: other routes still go
    let others = 0;
    for (let i = 0; i < 200; i++) if ((await store!.take(token, [api], 'interactive')).kind === 'go') others += 1;
    expect(others).toBe(150 - 30);
  });

  it('keeps a reserve: the sweep stops at half the burst, webhook work at a quarter, clicks use it all', async () => {
    const clock = testClock();
    const [store] = budgets(1, clock);
    const api = bucket('api', 480); // burst 40
    const drain = async (lane: GitLabLane) => {
      let n = 0;
      while ((await store!.take(token, [api], lane)).kind === 'go') n += 1;
      return n;
    };
    expect(await drain('background')).toBe(20);
    expect(await drain('normal')).toBe(10);
    expect(await drain('interactive')).toBe(10);
    // the sweep's own share paces it even when the token's budget is full
    clock.advance(60_000);
    const sweep = bucket('sweep', 120); // burst 10
    let swept = 0;
    while ((await store!.take(token, [api, sweep], 'background')).kind === 'go') swept += 1;
    expect(swept).toBe(10);
    expect(await store!.take(token, [api, sweep], 'background')).toEqual({ kind: 'wait', ms: 500, reason: 'sweep' });
  });

  it('a pause stops every caller of the token until it ends; a shorter pause never shortens it', async () => {
    const clock = testClock();
    const [a, b] = budgets(2, clock);
    const api = bucket('api', 1800);
    expect(await a!.take(token, [api], 'interactive')).toEqual({ kind: 'go' });
    expect(await a!.pause(token, 60_000)).toBe(60_000);
    expect(await b!.pause(token, 5_000)).toBe(60_000);
    expect(await b!.take(token, [api], 'interactive')).toEqual({ kind: 'wait', ms: 60_000, reason: 'paused' });
    expect(await b!.take(token, [], 'interactive')).toEqual({ kind: 'wait', ms: 60_000, reason: 'paused' });
    expect(await a!.take(tokenKeyOf('another token'), [api], 'interactive')).toEqual({ kind: 'go' });
    clock.advance(59_999);
    expect(await a!.take(token, [api], 'normal')).toEqual({ kind: 'wait', ms: 1, reason: 'paused' });
    clock.advance(1);
    expect(await b!.take(token, [api], 'normal')).toEqual({ kind: 'go' });
  });

  describe('the gate before each request', () => {
    const headers = new Headers({ 'private-token': 'glpat-secret' });
    const limits = { perMinute: 60, projectPerMinute: 0, sweepPerMinute: 0 }; // 1 s apart, burst 5

    const gate = (clock: ReturnType<typeof testClock>, maxWaitMs = 30_000) => {
      const [store] = budgets(1, clock);
      const slept: number[] = [];
      const waits: string[] = [];
      const g = createGitLabGate({
        store: store!,
        limits,
        logger: new CapturingLogger(),
        maxWaitMs,
        observe: { waited: (lane, reason) => void waits.push(`${lane}:${reason}`), paused: () => undefined },
        sleep: async (ms) => {
          slept.push(ms);
          clock.advance(ms);
        },
      });
      return { g, slept, waits };
    };

    it('waits for the budget in place, then goes', async () => {
      const clock = testClock();
      const { g, slept, waits } = gate(clock);
      // webhook work (normal) leaves a quarter of the burst of 5 (one request) to clicks
      for (let i = 0; i < 4; i++) await g.admit(headers, 'GET', 'projects/1/deployments');
      expect(slept).toEqual([]);
      await withGitLabLane('interactive', () => g.admit(headers, 'GET', 'projects/1/deployments'));
      expect(slept).toEqual([]);
      await withGitLabLane('interactive', () => g.admit(headers, 'GET', 'projects/1/deployments'));
      expect(slept).toHaveLength(1);
      expect(slept[0]).toBeGreaterThanOrEqual(1_000);
      expect(waits).toEqual(['interactive:api']);
    });

    it('a 429 with Retry-After pauses the token; a wait longer than the bound fails as rate-limited', async () => {
      const clock = testClock();
      const { g } = gate(clock, 10_000);
      await g.heard(headers, 429, new Headers({ 'retry-after': '60' }));
      const error = await g.admit(headers, 'GET', 'projects/1').catch((e: unknown) => e);
      expect(isGreenlightError(error, 'gitlab_rate_limited')).toBe(true);
      expect(error).toMatchObject({ retryAfterMs: 60_000, detail: 'paused' });
    });

    it('GET /projects/:id also takes from its own budget; other routes and methods do not', async () => {
      const clock = testClock();
      const [store] = budgets(1, clock);
      const g = createGitLabGate({
        store: store!,
        limits: { perMinute: 0, projectPerMinute: 12, sweepPerMinute: 0 }, // burst 1
        logger: new CapturingLogger(),
        maxWaitMs: 0,
      });
      const limited = (endpoint: string, method = 'GET') =>
        withGitLabLane('interactive', () => g.admit(headers, method, endpoint)).then(
          () => false,
          (e: unknown) => isGreenlightError(e, 'gitlab_rate_limited'),
        );
      expect(await limited('projects/acme%2Fweb')).toBe(false);
      expect(await limited('projects/acme%2Fweb')).toBe(true);
      expect(await limited('projects/7')).toBe(true);
      expect(await limited('projects/7/deployments')).toBe(false);
      expect(await limited('projects/7', 'PUT')).toBe(false);
    });

    it('RateLimit-Remaining 0 pauses until RateLimit-Reset; other answers change nothing', async () => {
      const clock = testClock(Date.now());
      const { g, slept } = gate(clock);
      await g.heard(headers, 200, new Headers({ 'ratelimit-remaining': '12' }));
      await g.admit(headers, 'GET', 'version');
      expect(slept).toEqual([]);
      const reset = Math.ceil((Date.now() + 5_000) / 1000);
      await g.heard(headers, 200, new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': String(reset) }));
      await g.admit(headers, 'GET', 'version');
      expect(slept.length).toBeGreaterThan(0);
      expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4_000);
    });
  });
});
