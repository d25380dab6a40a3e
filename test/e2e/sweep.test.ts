import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGreenlight, type Greenlight } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { FakeProject } from '../fakes/fake-gitlab.ts';
import { LogCapture, startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { manualClock } from '../helpers/manual-clock.ts';
import { total } from '../helpers/prometheus.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/**
 * No webhook reaches greenlight in this file (none is registered in the fake GitLab): everything the cards
 * show comes from the sweep.
 */
describe('sweep: what webhooks missed', () => {
  let world: World;
  let app: TestApp;
  let grouped: FakeProject;
  let seen: FakeProject;
  let unknown: FakeProject;
  // The GitLab budget's clock: real time, and the 429 test moves it past Retry-After instead of waiting.
  const clock = manualClock({ flowing: true });
  const gitlabBudget = { now: clock.now, sleep: clock.sleep, maxWaitMs: 600_000 };
  const pausedWaits = async () =>
    total((await app.app.metrics.render()).body, 'greenlight_gitlab_budget_waits_total', { reason: 'paused' });

  const protect = (project: FakeProject) => {
    for (const u of [world.alice, world.bob, world.carol]) world.gitlab.addProjectMember(project.id, u.id, 40);
    world.gitlab.protectEnvironment(project.id, 'production', {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    return project;
  };
  const deploy = (project: FakeProject) =>
    world.gitlab.createDeployment({
      projectId: project.id,
      environment: freshEnvironment(world.gitlab, project.id),
      tier: 'production',
      userId: world.bob.id,
    });
  const cardOf = (deploymentId: number) =>
    world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId);
  const sweepsDone = () => app.logs.find('sweep done').length;
  const sweepNow = async () => {
    const before = sweepsDone();
    await app.app.sweeper()!.requestNow('test');
    await waitFor(() => sweepsDone() > before, { what: 'sweep done' });
  };
  const drained = () =>
    waitFor(
      async () => {
        const q = app.app.queues;
        const counts = await Promise.all(
          [q.scan, q.sync].map((x) => x.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
        );
        return counts.every((c) => Object.values(c).every((n) => n === 0));
      },
      { what: 'scans and syncs drained' },
    );

  beforeAll(async () => {
    world = await startWorld();
    grouped = protect(world.gitlab.addProject({ pathWithNamespace: 'platform/tools/api' }));
    seen = protect(world.gitlab.addProject({ pathWithNamespace: 'other/seen' }));
    unknown = protect(world.gitlab.addProject({ pathWithNamespace: 'other/unknown' }));
    app = await startTestApp({
      env: world.env,
      name: 'e2e-sweep',
      policy: 'projects: [acme/web]\ngroups: [platform]\nsweep: { every: 1h }\n',
      options: { workerSettings: { concurrency: { sync: 1 } }, gitlabBudget },
    });
    // other/seen shows up once in an event that needs no card (a running pipeline): from now on it is swept.
    const hook = await fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Pipeline Hook',
        'x-gitlab-token': WEBHOOK_SECRET,
      },
      body: JSON.stringify({
        object_kind: 'pipeline',
        object_attributes: { id: 1, status: 'running' },
        project: { id: seen.id, path_with_namespace: 'other/seen' },
        builds: [],
      }),
    });
    expect(hook.status).toBe(202);
    await waitFor(() => app.logs.find('webhook event processed').length > 0, { what: 'pipeline event processed' });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  it(
    'posts cards for blocked deployments of policy projects, of projects ' +
      'in policy groups (subgroups too) and of projects seen in webhooks',
    async () => {
      const listed = deploy(world.project);
      const inGroup = deploy(grouped);
      const inSeen = deploy(seen);
      const elsewhere = deploy(unknown);
      await sweepNow();
      await waitFor(() => cardOf(listed.id) && cardOf(inGroup.id) && cardOf(inSeen.id), { what: 'three cards' });
      await drained();
      expect(cardOf(elsewhere.id)).toBeUndefined();
      expect(world.gitlab.requests.some((r) => r.path === `/api/v4/projects/${unknown.id}/deployments`)).toBe(false);
      expect(app.logs.find('sweep done').at(-1)).toMatchObject({ projects: 3, missing: [] });
    },
  );

  it(
    'brings cards of deployments decided in the GitLab ' + 'UI (no webhook) up to date, and posts each card once',
    async () => {
      const d = deploy(world.project);
      await sweepNow();
      const card = await waitFor(() => cardOf(d.id), { what: 'card' });
      world.gitlab.approveInUi(d.id, world.carol.id, 'approved', 'approved in the UI');
      await sweepNow();
      await waitFor(() => /Approved/.test(world.slack.message(CHANNEL, card.ts)?.text ?? ''), {
        what: 'card shows the UI approval',
      });
      await drained();
      for (const m of world.slack.messages(CHANNEL))
        expect(
          world.slack
            .messages(CHANNEL)
            .filter((x) => x.metadata?.event_payload?.deployment_id === m.metadata?.event_payload?.deployment_id),
        ).toHaveLength(1);
    },
  );

  it('a 429 met by a scan pauses syncs and other scans too (one pause per token) until Retry-After', async () => {
    await drained();
    const ds = [deploy(seen), deploy(world.project)];
    // nothing else is in flight when the scan's listing meets the 429 (every earlier job has drained)
    const listing = `/api/v4/projects/${seen.id}/deployments`;
    world.gitlab.failNext({ path: listing, status: 429, headers: { 'Retry-After': '60' } });
    await app.app.producer.requestScan({ projectId: seen.id, environments: [], reason: 'a pipeline hook' });
    await waitFor(() => app.logs.find('GitLab rate limit; every caller of the token paused').length > 0, {
      what: 'the pause',
    });
    const at429 = world.gitlab.requests.findIndex((r) => r.status === 429);
    // work of other queues and projects, as webhooks and the sweep bring it, waits for the same pause
    await app.app.producer.requestScan({ projectId: world.project.id, environments: [], reason: 'sweep: test' });
    await app.app.producer.requestSync({ projectId: seen.id, deploymentId: ds[0]!.id }, 'a deployment hook');
    await waitFor(async () => (await pausedWaits()) >= 2, { what: 'the scan and the sync waiting' });
    expect(world.gitlab.requests.slice(at429 + 1)).toEqual([]);
    // Retry-After has passed: the waiting work goes, and the throttled scan (delayed by Retry-After) runs again
    clock.advance(61_000);
    await waitFor(
      async () => {
        for (const job of await app.app.queues.scan.getDelayed())
          if (job.data.reason === 'a pipeline hook') await job.promote();
        return ds.every((d) => cardOf(d.id));
      },
      { what: 'cards after the pause' },
    );
    expect(world.gitlab.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(world.gitlab.requests.slice(at429 + 1).some((r) => r.path === listing && r.status === 200)).toBe(true);
  });

  it('runs one sweep at a time across replicas', async () => {
    const logs = new LogCapture();
    const replica: Greenlight = await createGreenlight(
      loadConfig({
        ...world.env,
        PORT: '0',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: app.prefix,
        ROLE: 'worker',
        LOG_LEVEL: 'info',
      }),
      { logDestination: logs, gitlabBudget },
    );
    await replica.start();
    try {
      world.gitlab.failNext({ path: '/api/v4/groups/platform/projects', delayMs: 100, times: 6 });
      const queues = [app.app.sweeper()!.queue, replica.sweeper()!.queue];
      const overlapping = async () =>
        (await queues[0]!.getCompleted()).filter((j) => j.data.reason.startsWith('overlap-'));
      for (let i = 0; i < 4; i += 1) await queues[i % 2]!.add('sweep', { reason: `overlap-${i}` });
      await waitFor(async () => (await overlapping()).length === 4, { what: 'four sweeps', timeoutMs: 15_000 });
      const runs = (await overlapping())
        .map((j) => [j.processedOn!, j.finishedOn!] as const)
        .sort((a, b) => a[0] - b[0]);
      expect(runs).toHaveLength(4);
      for (let i = 1; i < runs.length; i += 1) expect(runs[i]![0]).toBeGreaterThanOrEqual(runs[i - 1]![1]);
      expect(logs.find('sweep done').length + app.logs.find('sweep done').length).toBeGreaterThanOrEqual(4);
    } finally {
      await replica.stop();
    }
  });
});
