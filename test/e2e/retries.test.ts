import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appIdle, startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/** Every failure below is injected once (failNext); BullMQ's retries, and only they, must get past it. */
describe('retries: GitLab and Slack failures are retried by BullMQ, decisions only briefly', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ requiredApprovals: 2 });
    app = await startTestApp({ env: world.env, name: 'e2e-retries' });
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

  const deploymentPath = (id: number) => `/api/v4/projects/${world.project.id}/deployments/${id}`;
  const approvalPath = (id: number) => `${deploymentPath(id)}/approval`;
  const cardsOf = (id: number) =>
    world.slack.messages(CHANNEL).filter((m) => m.metadata?.event_payload?.deployment_id === id);
  const cardFor = (id: number) => waitFor(() => cardsOf(id)[0], { what: `card for ${id}` });
  /** A notice that arrived after `since` notices to the same person. */
  const noticeTo = (user: string, pattern: RegExp, since: number) =>
    waitFor(
      () =>
        world.slack
          .ephemerals({ user })
          .slice(since)
          .find((e) => pattern.test(e.text)),
      { what: `notice ${pattern}` },
    );
  const noticesTo = (user: string) => world.slack.ephemerals({ user }).length;
  let lastId = 0;
  const deploy = () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: freshEnvironment(world.gitlab, world.project.id, 2),
      tier: 'production',
      userId: world.bob.id,
    });
    lastId = d.id;
    return d;
  };
  /** The fake numbers deployments in order: failures are armed for the next one before its webhooks arrive. */
  const nextId = () => lastId + 1;

  // Failures armed for one deployment's own paths: these run at the same time, so their backoffs overlap.
  describe.concurrent('GitLab failures', () => {
    it('posts the card once GitLab stops answering 502', async ({ expect }) => {
      world.gitlab.failNext({ method: 'GET', path: deploymentPath(nextId()), status: 502 });
      const d = deploy();
      await cardFor(d.id);
      const reads = world.gitlab.requests.filter((r) => r.path === deploymentPath(d.id));
      expect(reads.map((r) => r.status).slice(0, 2)).toEqual([502, 200]);
      expect(app.logs.find('job failed; will retry').length).toBeGreaterThanOrEqual(1);
      expect(cardsOf(d.id)).toHaveLength(1);
    });

    it('waits Retry-After when GitLab answers 429, then posts the card', async ({ expect }) => {
      world.gitlab.failNext({
        method: 'GET',
        path: deploymentPath(nextId()),
        status: 429,
        headers: { 'Retry-After': '1' },
      });
      const started = Date.now();
      const d = deploy();
      await cardFor(d.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(world.gitlab.requests.filter((r) => r.path === deploymentPath(d.id)).map((r) => r.status)[0]).toBe(429);
    });

    it('retries a decision GitLab answered with 502, and records it once', async ({ expect }) => {
      const d = deploy();
      const card = await cardFor(d.id);
      world.gitlab.failNext({ method: 'POST', path: approvalPath(d.id), status: 502 });
      const seen = noticesTo(world.slackIds.alice);
      await world.slack.clickButton(app.url, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      await noticeTo(world.slackIds.alice, new RegExp(`You approved .* as @alice`), seen);
      const calls = world.gitlab.approvalCalls().filter((c) => c.path === approvalPath(d.id));
      expect(calls.map((c) => c.status)).toEqual([502, 201]);
      expect(world.gitlab.getDeployment(d.id)!.approvals.filter((a) => a.userId === world.alice.id)).toHaveLength(1);
    });

    it('never approves twice when GitLab recorded the approval but the answer was lost', async ({ expect }) => {
      const d = deploy();
      const card = await cardFor(d.id);
      world.gitlab.failNext({ method: 'POST', path: approvalPath(d.id), status: 502, processFirst: true });
      const seen = noticesTo(world.slackIds.carol);
      await world.slack.clickButton(app.url, {
        userId: world.slackIds.carol,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      // the retry finds its own approval in GitLab and reports it as recorded (issue 15)
      await noticeTo(world.slackIds.carol, /You approved .* as @carol/, seen);
      expect(world.gitlab.approvalCalls().filter((c) => c.path === approvalPath(d.id))).toHaveLength(1);
      expect(world.gitlab.getDeployment(d.id)!.approvals.filter((a) => a.userId === world.carol.id)).toHaveLength(1);
    });
  });

  // Slack failures are armed per method, so these run one after the other.
  describe('Slack failures', () => {
    it('posts exactly one card when Slack answers 429 to chat.postMessage', async () => {
      world.slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
      const started = Date.now();
      const d = deploy();
      await cardFor(d.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(world.slack.rateLimited().some((c) => c.method === 'chat.postMessage')).toBe(true);
      await world.gitlab.webhooksIdle();
      await appIdle(app);
      expect(cardsOf(d.id)).toHaveLength(1);
    });

    it('updates the card when Slack answers 500 to chat.update, and delivers a notice after a 503', async () => {
      const d = deploy();
      const card = await cardFor(d.id);
      world.slack.failNext('chat.update', { status: 500 });
      world.slack.failNext('chat.postEphemeral', { status: 503 });
      const seen = noticesTo(world.slackIds.alice);
      await world.slack.clickButton(app.url, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      await noticeTo(world.slackIds.alice, /You approved/, seen);
      await waitFor(() => /1 of 2|1\/2/.test(JSON.stringify(world.slack.message(CHANNEL, card.ts)?.blocks ?? [])), {
        what: 'card shows one approval',
      });
      expect(world.slack.callsTo('chat.update').some((c) => c.response.status === 500)).toBe(true);
      expect(world.slack.callsTo('chat.postEphemeral').some((c) => c.response.status === 503)).toBe(true);
    });
  });

  // Last: its 429 pauses every GitLab caller of greenlight's token (sudo mode) for two minutes.
  describe('GitLab asking to wait past the decision window', () => {
    it('gives a decision up at once when GitLab asks to wait past the decision window, and tells the person', async ({
      expect,
    }) => {
      const d = deploy();
      const card = await cardFor(d.id);
      world.gitlab.failNext({
        method: 'POST',
        path: approvalPath(d.id),
        status: 429,
        headers: { 'Retry-After': '120' },
      });
      const seen = noticesTo(world.slackIds.alice);
      await world.slack.clickButton(app.url, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      const notice = await noticeTo(world.slackIds.alice, /was not recorded/, seen);
      expect(notice.text).toMatch(/your approval was not recorded/);
      expect(world.gitlab.approvalCalls().filter((c) => c.path === approvalPath(d.id))).toHaveLength(1);
      expect(world.gitlab.getDeployment(d.id)!.pendingApprovalCount).toBe(2);
    });
  });
});
