import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/child.ts';
import { appIdle, startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Button = { action_id: string };
const decisionButtons = (blocks: Array<Record<string, unknown>>) =>
  blocks
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements as Button[])
    .map((b) => b.action_id)
    .filter((id) => id !== 'deploy_open_gitlab');

/** A redis-server of this file's own, which may be wiped (never the shared one). */
async function privateRedis(): Promise<{ server: ChildProcess; url: string }> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await waitFor(
    async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    },
    { what: 'private redis-server' },
  );
  return { server, url };
}

/**
 * Redis loses greenlight's data while it runs (FLUSHALL of a private redis-server started for this file: never the
 * shared one): the process notices (its data marker is gone), sets the sweep's schedule again, sweeps, adopts the
 * cards already in Slack instead of posting second ones, and brings cards decided meanwhile up to date.
 */
describe('Redis loses its data under a running greenlight', () => {
  let world: World;
  let app: TestApp;
  let server: ChildProcess;
  let url: string;
  let admin: Redis;

  beforeAll(async () => {
    ({ server, url } = await privateRedis());
    admin = new Redis(url);
    world = await startWorld({ webhookMode: 'modern' });
    app = await startTestApp({
      env: { ...world.env, REDIS_URL: url },
      name: 'e2e-data-loss',
      options: { dataCheckEveryMs: 200 },
    });
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
    await app?.stop();
    await world?.close();
    admin?.disconnect();
    server?.kill('SIGKILL');
  });

  const cardsOf = (id: number) =>
    world.slack.messages(CHANNEL).filter((m) => m.metadata?.event_payload?.deployment_id === id);
  const deploy = () =>
    world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: freshEnvironment(world.gitlab, world.project.id),
      userId: world.bob.id,
    });

  it('sets the sweep schedule again, adopts open cards, updates those decided since, posts none twice', async () => {
    const waiting = deploy();
    const decided = deploy();
    for (const d of [waiting, decided]) await waitFor(() => cardsOf(d.id).length === 1, { what: `card ${d.id}` });
    await world.gitlab.webhooksIdle();
    const lossesBefore = app.logs.find('redis lost greenlight data; repairing schedules and cards').length;

    // Redis loses everything; meanwhile the deployment is rejected in GitLab and its webhook is never heard.
    world.gitlab.holdWebhooks();
    await admin.flushall();
    world.gitlab.approveInUi(decided.id, world.carol.id, 'rejected', 'not today');

    await waitFor(
      () => app.logs.find('redis lost greenlight data; repairing schedules and cards').length > lossesBefore,
      { what: 'the loss noticed' },
    );
    // the decided card loses its buttons, and says why
    await waitFor(() => decisionButtons(cardsOf(decided.id)[0]!.blocks).length === 0, {
      what: 'the decided card brought up to date',
    });
    expect(cardsOf(decided.id)[0]!.text).toMatch(/^Rejected/);
    // the sweep runs on a schedule again
    const scheduler = await waitFor(() => app.app.sweeper()!.queue.getJobScheduler('sweep'), {
      what: 'the sweep scheduled again',
    });
    expect(scheduler.every).toBeGreaterThan(0);
    // the waiting deployment's card is adopted (the sweep synced it), not posted again
    await waitFor(
      () => app.logs.find('adopted a card whose record redis lost').some((l) => l.deploymentId === waiting.id),
      {
        what: 'the waiting card adopted',
      },
    );
    world.gitlab.releaseWebhooks();
    await world.gitlab.webhooksIdle();

    // a click on the adopted card works as before
    const card = cardsOf(waiting.id)[0]!;
    expect(decisionButtons(card.blocks)).toEqual(['deploy_approve', 'deploy_reject']);
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    await waitFor(() => world.gitlab.getDeployment(waiting.id)?.pendingApprovalCount === 0, {
      what: 'approval recorded',
    });
    // and a deployment after the loss gets its card as usual
    const after = deploy();
    await waitFor(() => cardsOf(after.id).length === 1, { what: 'card after the loss' });

    for (const d of [waiting, decided, after]) expect(cardsOf(d.id)).toHaveLength(1);
  });

  it('repairs the same when Redis and greenlight restart together (nothing kept, no marker at start)', async () => {
    const waiting = deploy();
    const decided = deploy();
    for (const d of [waiting, decided]) await waitFor(() => cardsOf(d.id).length === 1, { what: `card ${d.id}` });
    await world.gitlab.webhooksIdle();

    // greenlight stops, Redis comes back empty, and the deployment is rejected while nobody listens
    await app.app.stop();
    world.gitlab.holdWebhooks();
    await admin.flushall();
    world.gitlab.approveInUi(decided.id, world.carol.id, 'rejected', 'not today');
    app = await startTestApp({
      env: { ...world.env, REDIS_URL: url },
      name: 'e2e-data-loss-restart',
      options: { dataCheckEveryMs: 60_000 },
    });

    await waitFor(() => decisionButtons(cardsOf(decided.id)[0]!.blocks).length === 0, {
      what: 'the decided card brought up to date after the restart',
    });
    expect(cardsOf(decided.id)[0]!.text).toMatch(/^Rejected/);
    await waitFor(
      () => app.logs.find('adopted a card whose record redis lost').some((l) => l.deploymentId === waiting.id),
      { what: 'the waiting card adopted' },
    );
    world.gitlab.releaseWebhooks();
    await world.gitlab.webhooksIdle();
    await appIdle(app); // the released webhooks handled, not only answered: none posted a second card
    for (const d of [waiting, decided]) expect(cardsOf(d.id)).toHaveLength(1);
  });

  it('adopts, not posts again, when a sync runs after the loss before any check noticed it', async () => {
    // this app (the restarted one) checks its marker once a minute: only the sync can notice the loss
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
    const waiting = deploy();
    await waitFor(() => cardsOf(waiting.id).length === 1, { what: `card ${waiting.id}` });
    await world.gitlab.webhooksIdle();
    await appIdle(app);
    const blocked = world.gitlab.deliveries.find(
      (x) =>
        x.url.startsWith(app.url) &&
        x.event === 'Deployment Hook' &&
        x.payload.deployment_id === waiting.id &&
        x.payload.status === 'blocked',
    )!;

    await admin.flushall();
    // GitLab's "Resend Request": its delivery key went with the data, so the hook is handled again, and syncs
    world.gitlab.redeliver(blocked.index);
    await world.gitlab.webhooksIdle();
    await waitFor(
      () => app.logs.find('adopted a card whose record redis lost').some((l) => l.deploymentId === waiting.id),
      { what: 'the card adopted' },
    );
    await appIdle(app);
    expect(cardsOf(waiting.id)).toHaveLength(1);
  });
});

describe('Redis loses its data while a deployment starts waiting unheard, in a large GitLab', () => {
  let world: World;
  let app: TestApp;
  let server: ChildProcess;
  let admin: Redis;

  afterAll(async () => {
    await app?.stop();
    await world?.close();
    admin?.disconnect();
    server?.kill('SIGKILL');
  });

  it('classifies every project in the sweep after the loss: the card comes within one sweep interval', async () => {
    const redis = await privateRedis();
    server = redis.server;
    admin = new Redis(redis.url);
    world = await startWorld();
    // a 20-second sweep classifies at most 100 projects (300 a minute of its interval) when nothing was lost
    const projects = Array.from({ length: 110 }, (_, i) => world.gitlab.addProject({ pathWithNamespace: `big/p${i}` }));
    const gated = projects.at(-1)!; // listed last: past the quota
    for (const u of [world.alice, world.bob, world.carol]) world.gitlab.addProjectMember(gated.id, u.id, 40);
    world.gitlab.protectEnvironment(gated.id, 'production', {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    app = await startTestApp({
      // no request budget: the fake has no limit, and the classifications at the sweep's share would take a while
      env: {
        ...world.env,
        REDIS_URL: redis.url,
        ...{ GITLAB_RATE_LIMIT: '0', GITLAB_PROJECT_RATE_LIMIT: '0', GITLAB_SWEEP_RATE_LIMIT: '0' },
      },
      name: 'e2e-data-loss-classify',
      policy: 'groups: [big]\nsweep: { every: 20s }\n',
      options: { dataCheckEveryMs: 200 },
    });
    // a batch of jobs: what is waited for is the work going on (each job logs), however busy the machine
    const working = () => app.logs.lines.length;
    await waitFor(() => app.logs.find('sweep done').length > 0, { what: 'the first sweep' });
    const q = app.app.queues;
    const idle = async () => {
      for (const queue of [q.intake, q.scan, q.sync, q.decisions, q.notices]) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (Object.values(counts).some((n) => n > 0)) return false;
      }
      return true;
    };
    await waitFor(async () => (await idle()) && (await idle()), { what: 'the first sweeps done', progress: working });
    const losses = () => app.logs.find('redis lost greenlight data; repairing schedules and cards').length;
    const lossesBefore = losses();

    // no hook is registered: only the sweep can find the deployment, which starts waiting as the data goes
    await admin.flushall();
    const d = world.gitlab.createDeployment({ projectId: gated.id, environment: 'production', userId: world.bob.id });
    await waitFor(() => losses() > lossesBefore, { what: 'the loss noticed' });
    const posted = await waitFor(
      () => app.logs.find('deployment synced').find((l) => l.deploymentId === d.id && l.outcome === 'posted') ?? null,
      { what: 'the card of the deployment in the last project', progress: working },
    );
    expect(world.slack.messages(CHANNEL).some((m) => m.metadata?.event_payload?.deployment_id === d.id)).toBe(true);
    // posted by the sweep of the loss, not by the next scheduled one (its project classified sweeps later)
    expect(posted.reason).toMatch(/^sweep: redis lost data/);
  });
});
