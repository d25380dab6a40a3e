import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../helpers/redis.ts';

const deploymentHook = (over: Record<string, unknown> = {}) => ({
  object_kind: 'deployment',
  status: 'blocked',
  status_changed_at: '2026-11-23 10:00:00 +0100',
  deployment_id: 987,
  environment: 'production',
  environment_tier: 'production',
  project: { id: 1, path_with_namespace: 'acme/web' },
  ...over,
});

describe('bad input at the edges', () => {
  let world: World;
  let app: TestApp;
  let redis: Redis;

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Deployment Hook',
        'x-gitlab-token': WEBHOOK_SECRET,
        ...headers,
      },
      body,
    });
  // Workers keep their own bookkeeping keys (meta, events, stalled checks, markers, the sweep's schedule) on
  // their own timing; what a forged request must not create is anything else.
  const BOOKKEEPING = /:(meta|events|stalled-check|marker|id|repeat)$|:sweep:/;
  const keyCount = async () => (await redis.keys(`*${app.prefix}*`)).filter((k) => !BOOKKEEPING.test(k)).length;

  beforeAll(async () => {
    world = await startWorld();
    app = await startTestApp({ env: world.env, name: 'e2e-forged' });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.stop();
    await world?.close();
  });

  it('answers a forged webhook (wrong or missing token) with 401 and stores nothing', async () => {
    const before = await keyCount();
    const wrong = await post(JSON.stringify(deploymentHook()), { 'x-gitlab-token': 'not-the-secret' });
    expect(wrong.status).toBe(401);
    const missing = await fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { 'x-gitlab-event': 'Deployment Hook' },
      body: JSON.stringify(deploymentHook()),
    });
    expect(missing.status).toBe(401);
    expect(await keyCount()).toBe(before);
    expect(app.logs.find('webhook accepted')).toHaveLength(0);
    expect(app.logs.find('webhook rejected: X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET')).toHaveLength(2);
    expect(app.logs.text()).not.toContain('not-the-secret');
  });

  it('answers malformed JSON with 400, an unusable payload with 400, and other events with 200 (ignored)', async () => {
    expect((await post('{"object_kind": "deploy')).status).toBe(400);
    const unusable = await post(JSON.stringify(deploymentHook({ deployment_id: 'abc' })));
    expect(unusable.status).toBe(400);
    expect(await unusable.json()).toMatchObject({ error: expect.stringContaining('deployment_id') });
    const push = await post(JSON.stringify({ object_kind: 'push' }), { 'x-gitlab-event': 'Push Hook' });
    expect(push.status).toBe(200);
    expect(app.logs.find('webhook accepted')).toHaveLength(0);
  });

  it('answers bodies over 1 MiB with 413', async () => {
    const big = JSON.stringify(deploymentHook({ commit_title: 'x'.repeat(1024 * 1024) }));
    expect((await post(big)).status).toBe(413);
  });

  it(
    'accepts a valid event with 202 and a re-sent one ' + '(same Idempotency-Key) with 200, enqueuing it once',
    async () => {
      const body = JSON.stringify(deploymentHook({ deployment_id: 555 }));
      const first = await post(body, { 'idempotency-key': '0f0e7c1c-2f55-4a43-9a1e-4b0b5e9f0001' });
      const again = await post(body, { 'idempotency-key': '0f0e7c1c-2f55-4a43-9a1e-4b0b5e9f0001' });
      expect([first.status, again.status]).toEqual([202, 200]);
      expect(app.logs.find('webhook accepted').map((line) => line.result)).toEqual(['queued', 'duplicate']);
      const jobs = await app.app.queues.intake.getJobs(['waiting', 'active', 'completed']);
      expect(jobs.filter((job) => job.data.deliveryKey === '0f0e7c1c-2f55-4a43-9a1e-4b0b5e9f0001')).toHaveLength(1);
    },
  );

  it('answers Slack requests with a forged signature or stale timestamp with 401 and does nothing', async () => {
    const posts = world.slack.callsTo('chat.postMessage').length;
    for (const signing of ['wrong-secret', 'stale-timestamp', 'missing-headers', 'tampered-body'] as const) {
      const res = await world.slack.sendCommand(
        app.url,
        { userId: world.slackIds.alice, channelId: CHANNEL, text: 'help' },
        { signing },
      );
      expect(res.status, signing).toBe(401);
    }
    expect(await app.app.queues.decisions.count()).toBe(0);
    expect(world.slack.callsTo('chat.postMessage').length).toBe(posts);
    expect(world.slack.responses()).toHaveLength(0);
  });
});
