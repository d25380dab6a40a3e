// Attack 5 of issue 14: X-Forwarded-For was believed from any private or loopback peer, so a client on the same
// network rotated it to escape every per-address limit. Now it is believed only from the proxies the operator
// lists (TRUSTED_PROXIES), otherwise the socket address counts; and rejected requests are logged sampled, so a
// flood of forged requests costs a few log lines.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/** Log lines per kind of rejected request and minute (SECURITY.md; REJECTIONS_LOGGED_PER_MINUTE in the code). */
const REJECTIONS_LOGGED_PER_MINUTE = 10;

const LIMITS = {
  webhooks: { perSecond: 0.5, burst: 5 },
  slack: { perSecond: 0.5, burst: 5 },
  oauth: { perSecond: 0.5, burst: 5 },
};

const forged = (appUrl: string, forwardedFor: string) =>
  fetch(`${appUrl}/webhooks/gitlab`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-gitlab-event': 'Pipeline Hook',
      'x-gitlab-token': `wrong-${randomBytes(6).toString('hex')}`,
      'x-forwarded-for': forwardedFor,
    },
    body: '{}',
  }).then(async (res) => {
    await res.arrayBuffer();
    return res.status;
  });

const randomAddress = () => `203.0.113.${1 + Math.floor(Math.random() * 250)}`;

describe('X-Forwarded-For and rejected requests', () => {
  let world: World;
  let untrusting: TestApp;
  let behindProxy: TestApp;

  beforeAll(async () => {
    world = await startWorld();
    untrusting = await startTestApp({
      env: { ...world.env, ROLE: 'web' },
      name: 'e2e-proxies-none',
      options: { rateLimits: LIMITS },
    });
    behindProxy = await startTestApp({
      env: { ...world.env, ROLE: 'web', TRUSTED_PROXIES: '127.0.0.1/8,::1' },
      name: 'e2e-proxies-listed',
      options: { rateLimits: LIMITS },
    });
  });
  afterAll(async () => {
    await untrusting?.stop();
    await behindProxy?.stop();
    await world?.close();
  });

  it('ignores X-Forwarded-For from a peer nobody listed: rotating it does not escape the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) statuses.push(await forged(untrusting.url, randomAddress()));
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    const rejected = untrusting.logs.find('webhook rejected: X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET');
    expect(rejected.map((r) => r.ip)).toEqual(rejected.map(() => expect.stringMatching(/127\.0\.0\.1$/)));
  });

  it('believes X-Forwarded-For through the listed proxies: each client has its own limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push(await forged(behindProxy.url, `198.51.100.${i + 1}`));
    expect(statuses).toEqual(Array(8).fill(401));
    // The address the proxy names is the one limited, and logged.
    for (let i = 0; i < 6; i += 1) statuses.push(await forged(behindProxy.url, '198.51.100.200'));
    expect(statuses.slice(8)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(behindProxy.logs.find('rate limit reached; answering 429').map((r) => r.ip)).toEqual(['198.51.100.200']);
  });

  it('logs a flood of rejected requests sampled: a few lines, not one per request', async () => {
    const flood = await startTestApp({
      env: { ...world.env, ROLE: 'web', TRUSTED_PROXIES: '127.0.0.1/8,::1' },
      name: 'e2e-proxies-flood',
      options: { rateLimits: { ...LIMITS, webhooks: { perSecond: 0.1, burst: 100 } } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 300; i += 20)
        statuses.push(...(await Promise.all(Array.from({ length: 20 }, () => forged(flood.url, randomAddress())))));
      expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(100);
      const lines = flood.logs
        .records()
        .filter((r) => r.level === 'warn' || (r.level as unknown) === 40)
        .filter((r) => /rejected|rate limit/.test(r.msg));
      expect(flood.logs.find('webhook rejected: X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET')).toHaveLength(
        REJECTIONS_LOGGED_PER_MINUTE,
      );
      expect(lines.length).toBeLessThanOrEqual(2 * REJECTIONS_LOGGED_PER_MINUTE);
      // The secret-less flood never slows GitLab's own deliveries (they carry the secret).
      const real = await fetch(`${flood.url}/webhooks/gitlab`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': 'Push Hook',
          'x-gitlab-token': WEBHOOK_SECRET,
        },
        body: '{}',
      });
      expect(real.status).toBe(200);
    } finally {
      await flood.stop();
    }
  });
});
