import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_BODY_LIMIT } from '../../src/entrypoints/http/gitlab-webhook.ts';
import { WEBHOOK_FIXTURES } from '../fixtures/gitlab-webhooks.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/**
 * What GitLab's webhook client (Ruby's Net::HTTP) does: it writes the whole request, then reads the answer. A reset
 * or a broken pipe while it writes is a network error, whatever the server may have answered meanwhile. (Node's own
 * client is no model here: it stops sending once an answer has come.)
 */
function sendLargeBody(url: string, opts: { bytes: number; chunked: boolean }): Promise<number | string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let settled = false;
    const settle = (value: number | string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(value);
    };
    socket.on('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const head =
      'POST /webhooks/gitlab HTTP/1.1\r\n' +
      `Host: ${hostname}:${port}\r\n` +
      'Content-Type: application/json\r\nX-Gitlab-Event: Deployment Hook\r\n' +
      `X-Gitlab-Token: ${WEBHOOK_SECRET}\r\n` +
      (opts.chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${opts.bytes}\r\n`) +
      '\r\n';
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const frame = (data: Buffer) =>
      opts.chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
    let sent = 0;
    const pump = () => {
      while (sent < opts.bytes) {
        const data = piece.subarray(0, Math.min(piece.length, opts.bytes - sent));
        sent += data.length;
        if (!socket.write(frame(data))) {
          socket.once('drain', pump);
          return;
        }
      }
      // Everything is written: only now is the answer read.
      socket.write(opts.chunked ? '0\r\n\r\n' : '', () => {
        const status = () => /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(received).toString('latin1'))?.[1];
        socket.on('end', () => settle(Number(status() ?? 0)));
        socket.on('close', () => settle(Number(status() ?? 0)));
      });
    };
    socket.once('connect', () => {
      socket.write(head);
      pump();
    });
  });
}

describe('GitLab webhook intake', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld();
    // The web role alone: what is stored is checked in Redis, no worker takes it.
    app = await startTestApp({ env: { ...world.env, ROLE: 'web' }, name: 'e2e-webhook-intake' });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  const stored = async (deliveryKey: string) => {
    const jobs = await app.app.queues.intake.getJobs(['waiting']);
    return jobs.find((job) => job.data.deliveryKey === deliveryKey)?.data.event ?? null;
  };

  describe("GitLab's published examples and the variants GitLab really sends", () => {
    for (const [i, fixture] of WEBHOOK_FIXTURES.entries()) {
      it(`answers 2xx and stores ${fixture.name} (${fixture.source})`, async () => {
        const deliveryKey = `fixture-${i}`;
        const response = await fetch(`${app.url}/webhooks/gitlab`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'GitLab/18.2.0-ee',
            'x-gitlab-event': fixture.event,
            'x-gitlab-token': WEBHOOK_SECRET,
            'idempotency-key': deliveryKey,
          },
          body: JSON.stringify(fixture.body),
        });
        expect(response.status, await response.text()).toBe(202);
        expect(await stored(deliveryKey)).toMatchObject(fixture.expect);
        const skipped = app.logs
          .find('webhook parts skipped: they do not fit')
          .filter((l) => l.deliveryKey === deliveryKey);
        expect(skipped.flatMap((l) => l.skipped as string[])).toHaveLength(fixture.skipped ?? 0);
      });
    }
  });

  it('stores a delivery GitLab sends again (same Idempotency-Key) once, and answers the repeat 200', async () => {
    const send = () =>
      fetch(`${app.url}/webhooks/gitlab`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': WEBHOOK_FIXTURES[0]!.event,
          'x-gitlab-token': WEBHOOK_SECRET,
          'idempotency-key': 'resent-delivery',
        },
        body: JSON.stringify(WEBHOOK_FIXTURES[0]!.body),
      });
    expect((await send()).status).toBe(202);
    expect((await send()).status).toBe(200);
    const jobs = await app.app.queues.intake.getJobs(['waiting']);
    expect(jobs.filter((job) => job.data.deliveryKey === 'resent-delivery')).toHaveLength(1);
  });

  describe('a body over the limit', () => {
    // GitLab writes the whole body before it reads the answer: a connection the server closes while bytes are
    // still arriving is reset, and GitLab records a network error instead of the 413.
    it('always reaches a client that sends it in chunks as 413, whether its length is declared or not', async () => {
      const outcomes: Array<number | string> = [];
      for (let i = 0; i < 30; i += 1) {
        outcomes.push(
          await sendLargeBody(app.url, { bytes: 12 * WEBHOOK_BODY_LIMIT + 4096 * i, chunked: i % 2 === 1 }),
        );
      }
      expect(outcomes).toEqual(outcomes.map(() => 413));
      // and the service goes on answering
      const next = await fetch(`${app.url}/healthz`);
      expect(next.status).toBe(200);
    });
  });
});

describe('a Deployment Hook from a GitLab version before deployment_id', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'legacy' });
    app = await startTestApp({ env: world.env, name: 'e2e-webhook-legacy-id' });
    // GitLab's pipeline hooks bring the card; the deployment hooks are sent by the test, in the old field set.
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      pipelineEvents: true,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  /** lib/gitlab/data_builder/deployment.rb at 71dc16a1: no deployment_id, environment_tier or environment_slug */
  const oldHook = (d: { environment: string; jobId: number | null; sha: string }, status: string) => ({
    object_kind: 'deployment',
    status,
    status_changed_at: '2026-05-08 10:30:00 UTC',
    deployable_id: d.jobId,
    deployable_url: d.jobId === null ? null : `${world.gitlab.url}/acme/web/-/jobs/${d.jobId}`,
    environment: d.environment,
    project: { id: world.project.id, name: 'web', path_with_namespace: 'acme/web', web_url: '' },
    short_sha: d.sha.slice(0, 8),
    user: { id: world.alice.id, name: 'Alice Approver', username: 'alice', email: '[REDACTED]' },
    user_url: null,
    commit_url: null,
    commit_title: null,
  });

  it('is accepted, and the deployment it is about is found by its job and its card brought up to date', async () => {
    const environment = freshEnvironment(world.gitlab, world.project.id);
    // an older deployment of the same environment that is not the one the hook is about
    const other = world.gitlab.createDeployment({ projectId: world.project.id, environment, userId: world.bob.id });
    const d = world.gitlab.createDeployment({ projectId: world.project.id, environment, userId: world.bob.id });
    const cardOf = (id: number) =>
      world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === id);
    await waitFor(() => cardOf(d.id), { what: 'card' });

    world.gitlab.approveInUi(d.id, world.alice.id, 'approved');
    world.gitlab.playJob(d.jobId, world.carol.id);
    const response = await fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Deployment Hook',
        'x-gitlab-token': WEBHOOK_SECRET,
      },
      body: JSON.stringify(oldHook(d, 'running')),
    });
    expect(response.status).toBe(202);
    await waitFor(() => /Deploying/.test(JSON.stringify(cardOf(d.id)?.blocks)), {
      what: 'the card to say the deployment runs',
    });
    // The card may be brought up to date by another read first (a sweep, a pipeline hook's scan): wait for the
    // hook's own processing rather than assume it came first.
    await waitFor(
      () =>
        app.logs
          .find('deployment hook without deployment_id: deployment found by its job')
          .some((r) => r.deploymentId === d.id && r.deployableId === d.jobId),
      { what: 'the hook to find its deployment by its job' },
    );
    expect(other.id).not.toBe(d.id);
  });
});

/** A TCP proxy to Redis that connects each client only after `delayMs` (a Redis slow to answer at start). */
async function slowRedisProxy(delayMs: number): Promise<{ url: string; close(): void }> {
  const target = new URL(TEST_REDIS_URL);
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    sockets.add(client);
    client.pause();
    const timer = setTimeout(() => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
    }, delayMs);
    client.on('error', () => {});
    client.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('a web role whose Redis connects slowly', () => {
  let world: World;
  let proxy: Awaited<ReturnType<typeof slowRedisProxy>>;
  let app: TestApp | undefined;

  beforeAll(async () => {
    world = await startWorld();
    proxy = await slowRedisProxy(1_500);
  });
  afterAll(async () => {
    await app?.stop();
    proxy?.close();
    await world?.close();
  });

  it('is started only once its queues can store a delivery: the first webhook after start is accepted', async () => {
    app = await startTestApp({
      env: { ...world.env, ROLE: 'web', REDIS_URL: proxy.url },
      name: 'e2e-webhook-start-ready',
    });
    const response = await fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': WEBHOOK_FIXTURES[0]!.event,
        'x-gitlab-token': WEBHOOK_SECRET,
        'idempotency-key': 'first-after-start',
      },
      body: JSON.stringify(WEBHOOK_FIXTURES[0]!.body),
    });
    expect(response.status, await response.text()).toBe(202);
  });
});
