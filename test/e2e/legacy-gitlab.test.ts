import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appIdle, startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

describe('GitLab before 19.3: no webhook for blocked deployments', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'legacy' });
    app = await startTestApp({ env: world.env, name: 'e2e-legacy' });
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
  });

  it('finds the blocked deployment from the pipeline hook (status manual) and posts its card', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    await world.gitlab.webhooksIdle();
    const events = world.gitlab.deliveries.map((x) => {
      const payload = x.payload as { status?: string; object_attributes?: { status?: string } };
      return `${x.event}:${payload.status ?? payload.object_attributes?.status ?? ''}`;
    });
    expect(events.some((e) => e.startsWith('Deployment Hook'))).toBe(false);
    expect(events).toContain('Pipeline Hook:manual');

    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      { what: 'card' },
    );
    expect(card.text).toContain('acme/web → production');
    // the list has no approval fields: greenlight listed, then read the single deployment
    const paths = world.gitlab.requests.map(
      (r) => `${r.method} ${r.path}${r.query.status ? `?status=${r.query.status}` : ''}`,
    );
    expect(paths).toContain(`GET /api/v4/projects/${world.project.id}/deployments?status=blocked`);
    expect(paths).toContain(`GET /api/v4/projects/${world.project.id}/deployments/${d.id}`);
  });

  it(
    'finds every deployment of a burst to many environments, ' +
      'not only the environments of the scan that was waiting',
    async () => {
      // Scans are coalesced (one running, one waiting per scope); each hook names its own environment. The first
      // listing is held until every hook has arrived, so that they all arrive while a scan of the project runs.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      world.gitlab.failNext({ method: 'GET', path: /\/projects\/\d+\/deployments(\?|$)/, until: held });
      const deployments = Array.from({ length: 12 }, () =>
        world.gitlab.createDeployment({
          projectId: world.project.id,
          environment: freshEnvironment(world.gitlab, world.project.id),
          userId: world.bob.id,
        }),
      );
      // every hook is in while the first listing is still held
      await waitFor(
        () => world.gitlab.requests.some((r) => r.status === 0 && /\/projects\/\d+\/deployments(\?|$)/.test(r.path)),
        { what: 'the held listing' },
      );
      await world.gitlab.webhooksIdle();
      release();
      const read = (id: number) =>
        world.gitlab.requests.some(
          (r) => r.method === 'GET' && r.path === `/api/v4/projects/${world.project.id}/deployments/${id}`,
        );
      await waitFor(() => deployments.every((d) => read(d.id)), { what: 'every deployment read' }).catch(() => {
        throw new Error(
          `deployments never read before the sweep: ${deployments
            .filter((d) => !read(d.id))
            .map((d) => d.environment)
            .join(', ')}`,
        );
      });
    },
  );

  it('does not post a card for a plain manual job found by the same listing', async () => {
    world.gitlab.protectEnvironment(world.project.id, 'staging', {});
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'staging',
      userId: world.bob.id,
      manual: true,
    });
    await world.gitlab.webhooksIdle();
    await waitFor(
      () => world.gitlab.requests.some((r) => r.path === `/api/v4/projects/${world.project.id}/deployments/${d.id}`),
      { what: 'deployment read' },
    );
    await appIdle(app);
    expect(world.slack.messages(CHANNEL).some((m) => m.metadata?.event_payload?.deployment_id === d.id)).toBe(false);
  });
});

describe(
  "GitLab 19.3+: once a project's deployment hooks report " + 'blocked deployments, its other hooks scan nothing',
  () => {
    let world: World;
    let app: TestApp;

    beforeAll(async () => {
      world = await startWorld({ webhookMode: 'modern' });
      app = await startTestApp({ env: world.env, name: 'e2e-modern-scans' });
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
    });

    const listings = (environment: string) =>
      world.gitlab.requests.filter(
        (r) =>
          r.method === 'GET' &&
          r.path === `/api/v4/projects/${world.project.id}/deployments` &&
          r.query.environment === environment,
      );
    const cardOf = (id: number) =>
      world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === id);

    it(
      'posts each card from the deployment hook, and lists no ' +
        'environment after the first blocked deployment was reported',
      async () => {
        const first = world.gitlab.createDeployment({
          projectId: world.project.id,
          environment: freshEnvironment(world.gitlab, world.project.id),
          userId: world.bob.id,
        });
        await world.gitlab.webhooksIdle();
        await waitFor(() => cardOf(first.id), { what: 'first card' });
        expect(world.gitlab.deliveries.map((d) => d.event)).toEqual(
          expect.arrayContaining(['Deployment Hook', 'Pipeline Hook', 'Job Hook']),
        );

        const later = Array.from({ length: 3 }, () =>
          world.gitlab.createDeployment({
            projectId: world.project.id,
            environment: freshEnvironment(world.gitlab, world.project.id),
            userId: world.bob.id,
          }),
        );
        await world.gitlab.webhooksIdle();
        for (const d of later) await waitFor(() => cardOf(d.id), { what: `card of ${d.environment}` });
        // every hook handled (not only answered) before asserting that none led to a listing
        await appIdle(app);
        // the pipeline and job hooks of these deployments name their environments: none was listed
        expect(later.flatMap((d) => listings(d.environment))).toEqual([]);
      },
    );
  },
);
