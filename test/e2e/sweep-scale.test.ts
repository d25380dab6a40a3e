import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FakeProject } from '../fakes/fake-gitlab.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/**
 * The sweep of a large GitLab: every project of a group however many, only projects that can block scanned at
 * each sweep, webhook work first. No hook is registered in the fake unless a test says so.
 */
describe('sweep at scale', () => {
  let world: World;
  let app: TestApp | undefined;
  const started: World[] = [];

  const begin = async (opts: { webhookMode?: 'legacy' | 'modern' } = {}) => {
    world = await startWorld(opts);
    started.push(world);
    return world;
  };
  const gate = (project: FakeProject, environment = 'production') => {
    for (const u of [world.alice, world.bob, world.carol]) world.gitlab.addProjectMember(project.id, u.id, 40);
    world.gitlab.protectEnvironment(project.id, environment, {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
  };
  const cardOf = (deploymentId: number) =>
    world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId);
  const sweepsDone = () => app!.logs.find('sweep done');
  const sweepNow = async (fullListing = false) => {
    const before = sweepsDone().length;
    await app!.app.sweeper()!.requestNow('test', { fullListing });
    await waitFor(() => sweepsDone().length > before, { what: 'sweep done' });
    return sweepsDone().at(-1)!;
  };
  const queued = async () => {
    const q = app!.app.queues;
    const counts = await Promise.all(
      [q.scan, q.sync].map((x) => x.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
    );
    return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
  };
  const drained = (timeoutMs = 10_000) => waitFor(async () => (await queued()) === 0, { what: 'drained', timeoutMs });
  const requestsTo = (path: string | RegExp) =>
    world.gitlab.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));

  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });
  afterAll(async () => {
    await Promise.all(started.map((w) => w.close()));
  });

  it('covers every project of a group of more than 10,000: the last one gets its card', async () => {
    await begin();
    const projects = Array.from({ length: 10_050 }, (_, i) =>
      world.gitlab.addProject({ pathWithNamespace: `big/team-${i % 7}/p${i}` }),
    );
    const last = projects.at(-1)!;
    gate(last);
    const d = world.gitlab.createDeployment({ projectId: last.id, environment: 'production', userId: world.bob.id });
    app = await startTestApp({
      // no request budget here: the fake GitLab has no limit, and 10,050 classifications at the sweep's share of
      // GitLab.com's limit would take 17 minutes
      env: { ...world.env, GITLAB_RATE_LIMIT: '0', GITLAB_PROJECT_RATE_LIMIT: '0', GITLAB_SWEEP_RATE_LIMIT: '0' },
      name: 'e2e-sweep-big',
      policy: 'groups: [big]\nsweep: { every: 1h }\n',
      options: { sweepMaxGapMs: 0, workerSettings: { concurrency: { scan: 16 } } },
    });
    await waitFor(() => cardOf(d.id), { what: 'card of the last project', timeoutMs: 120_000 });
    await waitFor(() => sweepsDone().length > 0, { what: 'first sweep done', timeoutMs: 60_000 });
    const pages = requestsTo('/api/v4/groups/big/projects');
    expect(pages).toHaveLength(101);
    // past 10,000 GitLab stops counting, and the listing goes on by x-next-page
    expect(sweepsDone()[0]).toMatchObject({ projects: 10_050, listed: true, classified: 10_050 });
    // no project is read one by one: the listing carried what the card shows
    expect(requestsTo(/^\/api\/v4\/projects\/\d+$/)).toHaveLength(0);
    expect(cardOf(d.id)!.text).toContain(`big/team-${(10_050 - 1) % 7}/p10049`);
    await drained(60_000);

    // the next sweep scans the one project that can block, and nothing else
    const before = world.gitlab.requests.length;
    const report = await sweepNow();
    await drained();
    expect(report).toMatchObject({ listed: false, classified: 0, scanned: 1, openCards: 1 });
    const paths = world.gitlab.requests.slice(before).map((r) => r.path);
    expect(paths.sort()).toEqual([
      `/api/v4/projects/${last.id}/deployments`,
      `/api/v4/projects/${last.id}/deployments/${d.id}`,
    ]);
  }, 180_000);

  it('runs webhook work before the sweep: a hook is carded while a long sweep still waits', async () => {
    await begin({ webhookMode: 'legacy' });
    const gated = Array.from({ length: 60 }, (_, i) => world.gitlab.addProject({ pathWithNamespace: `many/p${i}` }));
    for (const p of gated) gate(p);
    app = await startTestApp({
      env: world.env,
      name: 'e2e-sweep-priority',
      policy: 'groups: [many]\nsweep: { every: 1h }\n',
      options: { sweepMaxGapMs: 0, workerSettings: { concurrency: { scan: 1 } } },
    });
    await waitFor(() => sweepsDone().length > 0, { what: 'first sweep' });
    await drained(30_000);
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      pipelineEvents: true,
      jobEvents: true,
    });
    // every listing of the sweep is slow: its 60 scans take several seconds one at a time
    world.gitlab.failNext({ path: /^\/api\/v4\/projects\/\d+\/deployments$/, delayMs: 100, times: 60 });
    await sweepNow();
    expect(await queued()).toBeGreaterThan(30);
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    await waitFor(() => cardOf(d.id), { what: 'card from the pipeline hook', timeoutMs: 5_000 });
    // the sweep's scans are still waiting behind it
    expect((await app.app.queues.scan.getJobCounts('prioritized')).prioritized).toBeGreaterThan(10);
  }, 60_000);

  it('scans only projects whose protected environments require approvals, and finds new ones', async () => {
    await begin({ webhookMode: 'legacy' });
    const now = { ms: Date.now() };
    const gated = world.gitlab.addProject({ pathWithNamespace: 'mixed/gated' });
    gate(gated);
    const open = world.gitlab.addProject({ pathWithNamespace: 'mixed/open' });
    const later = world.gitlab.addProject({ pathWithNamespace: 'mixed/later' });
    const hooked = world.gitlab.addProject({ pathWithNamespace: 'mixed/hooked' });
    const inherits = world.gitlab.addProject({ pathWithNamespace: 'mixed/ops/inherits' });
    for (const p of [open, later, hooked, inherits])
      for (const u of [world.alice, world.bob, world.carol]) world.gitlab.addProjectMember(p.id, u.id, 40);
    // a group-level protected environment (by tier) of the subgroup reaches mixed/ops/inherits
    world.gitlab.protectGroupEnvironment(inherits.groupId!, 'production', {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    const inherited = world.gitlab.createDeployment({
      projectId: inherits.id,
      environment: 'production',
      userId: world.bob.id,
    });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-sweep-classify',
      policy: 'groups: [mixed]\nsweep: { every: 1h, classify_every: 1d }\n',
      options: { clock: { now: () => now.ms } },
    });
    await waitFor(() => cardOf(inherited.id), { what: 'card of a project gated by its group' });
    await drained();
    const deploymentsOf = (p: FakeProject) => requestsTo(`/api/v4/projects/${p.id}/deployments`).length;
    expect(deploymentsOf(open)).toBe(0);
    const scansBefore = deploymentsOf(gated);
    await sweepNow();
    await sweepNow();
    await drained();
    expect(deploymentsOf(open)).toBe(0);
    expect(deploymentsOf(gated)).toBe(scansBefore + 2);
    expect(requestsTo(`/api/v4/projects/${open.id}/protected_environments`)).toHaveLength(1);
    // the group's answer is kept for the slow cycle: read once for all its projects
    expect(requestsTo('/api/v4/groups/mixed%2Fops/protected_environments')).toHaveLength(1);

    // mixed/later gains an approval rule: found on the slow cycle (a day on)
    gate(later);
    const d1 = world.gitlab.createDeployment({ projectId: later.id, environment: 'production', userId: world.bob.id });
    await sweepNow();
    await drained();
    expect(cardOf(d1.id)).toBeUndefined();
    now.ms += 86_400_000 + 1;
    const report = await sweepNow();
    expect(report).toMatchObject({ classified: 5 });
    await waitFor(() => cardOf(d1.id), { what: 'card found on the slow cycle' });

    // mixed/hooked gains one too, and a hook naming its environment has it classified at once
    gate(hooked, 'production');
    now.ms += 11 * 60_000;
    world.gitlab.addHook({
      projectId: hooked.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      pipelineEvents: true,
      jobEvents: true,
    });
    const readsBefore = requestsTo(`/api/v4/projects/${hooked.id}/protected_environments`).length;
    const sweepsBefore = sweepsDone().length;
    const d2 = world.gitlab.createDeployment({ projectId: hooked.id, environment: 'production', userId: world.bob.id });
    await waitFor(() => cardOf(d2.id), { what: 'card after a hook named a new environment' });
    expect(requestsTo(`/api/v4/projects/${hooked.id}/protected_environments`).length).toBeGreaterThan(readsBefore);
    expect(sweepsDone()).toHaveLength(sweepsBefore);
  }, 60_000);
});
