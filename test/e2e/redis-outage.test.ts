import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../helpers/child.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/** A Redis of this file's own (the shared one on 6379 serves other files), killed and started again. */
class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'greenlight-redis-'));
  proc: ChildProcess | null = null;
  readonly port: number;
  constructor(port: number) {
    this.port = port;
  }
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start() {
    // AOF with fsync on every write: what survives a SIGKILL is what a production Redis would keep.
    this.proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () => {
        const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => {});
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      { what: 'redis-server up' },
    );
  }
  async kill() {
    const proc = this.proc!;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await gone;
    this.proc = null;
  }
  cleanup() {
    this.proc?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('Redis unavailable', () => {
  let world: World;
  let redis: PrivateRedis;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld();
    redis = new PrivateRedis(await freePort());
    await redis.start();
    app = await startTestApp({ env: { ...world.env, REDIS_URL: redis.url }, name: 'e2e-redis-outage' });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
  });
  afterAll(async () => {
    if (redis?.proc === null) await redis.start().catch(() => {});
    await app?.stop();
    await world?.close();
    redis?.cleanup();
  });

  const cardsOf = (id: number) =>
    world.slack.messages(CHANNEL).filter((m) => m.metadata?.event_payload?.deployment_id === id);
  const deploy = () =>
    world.gitlab.createDeployment({ projectId: world.project.id, environment: 'production', userId: world.bob.id });
  const timed = async (request: Promise<Response>) => {
    const started = performance.now();
    const response = await request;
    return { status: response.status, ms: performance.now() - started };
  };

  it(
    'fails readiness and answers webhooks 503 at once while Redis is ' +
      'down, then recovers without a restart and sweeps up what was missed',
    async () => {
      const before = deploy();
      const card = await waitFor(() => cardsOf(before.id)[0], { what: 'card before the outage' });
      await world.gitlab.webhooksIdle();

      // Errors go to the structured log, never raw to stderr.
      const stderr = vi.spyOn(console, 'error');
      await redis.kill();
      const ready = await timed(fetch(`${app.url}/readyz`));
      expect(ready.status).toBe(503);
      // fails fast: well inside GitLab's 10 s webhook timeout and any probe's, not after reconnect attempts
      expect(ready.ms).toBeLessThan(3_000);
      const hook = await timed(
        fetch(`${app.url}/webhooks/gitlab`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-gitlab-event': 'Deployment Hook',
            'x-gitlab-token': WEBHOOK_SECRET,
          },
          body: JSON.stringify({
            object_kind: 'deployment',
            status: 'blocked',
            deployment_id: 999,
            environment: 'production',
            project: { id: world.project.id, path_with_namespace: 'acme/web' },
          }),
        }),
      );
      expect(hook).toMatchObject({ status: 503 });
      expect(hook.ms).toBeLessThan(3_000);

      // GitLab's own deliveries fail and are recorded as failures (GitLab never sends them again).
      const missed = deploy();
      await world.gitlab.webhooksIdle();
      const deliveries = world.gitlab.deliveries.filter((d) =>
        JSON.stringify(d.payload).includes(`"deployment_id":${missed.id}`),
      );
      expect(deliveries.length).toBeGreaterThan(0);
      expect(deliveries.every((d) => d.status === 503)).toBe(true);

      // A click cannot be stored: the person hears so at once, instead of silence.
      const click = await world.slack.clickButton(app.url, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      expect(click.status).toBe(200);
      await waitFor(() => world.slack.responses().some((r) => /storage is unavailable/.test(JSON.stringify(r.body))), {
        what: 'click answered',
      });

      await redis.start();
      await waitFor(async () => (await fetch(`${app.url}/readyz`)).status === 200, {
        what: 'ready again',
        timeoutMs: 10_000,
      });
      await waitFor(() => cardsOf(missed.id).length === 1, {
        what: 'the sweep posts the missed card',
        timeoutMs: 10_000,
      });
      expect(app.logs.find('redis is back; sweeping for what was missed').length).toBeGreaterThan(0);

      const after = deploy();
      await waitFor(() => cardsOf(after.id).length === 1, { what: 'webhooks work again', timeoutMs: 10_000 });
      await world.gitlab.webhooksIdle();
      expect(
        world.gitlab.deliveries
          .filter((d) => JSON.stringify(d.payload).includes(`"deployment_id":${after.id}`))
          .every((d) => d.status !== null && d.status < 300),
      ).toBe(true);
      for (const d of [before, missed, after]) expect(cardsOf(d.id)).toHaveLength(1);
      expect(stderr.mock.calls.map((args) => String(args[0]))).toEqual([]);
      expect(world.gitlab.approvalCalls()).toHaveLength(0);
    },
  );
});
