import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView, FakeProject } from '../fakes/fake-gitlab.ts';
import { sendSigned } from '../fakes/fake-slack/signed-request.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { SLACK_FORM_CONTENT_TYPE } from '../helpers/slack-sign.ts';
import { waitFor } from '../helpers/wait.ts';
import { ADMIN_TOKEN, CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const webhookHeaders = {
  'content-type': 'application/json',
  'x-gitlab-event': 'Pipeline Hook',
  'x-gitlab-token': WEBHOOK_SECRET,
};
const pipelineHook = JSON.stringify({
  object_kind: 'pipeline',
  object_attributes: { id: 1, status: 'running' },
  project: { id: 1, path_with_namespace: 'acme/web' },
});

describe('security at the edges', () => {
  let world: World;
  let app: TestApp;
  let other: FakeProject;
  let redis: Redis;

  beforeAll(async () => {
    world = await startWorld();
    other = world.gitlab.addProject({ pathWithNamespace: 'acme/other' });
    for (const u of [world.alice, world.bob]) world.gitlab.addProjectMember(other.id, u.id, 40);
    world.gitlab.protectEnvironment(other.id, 'production', {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    app = await startTestApp({ env: world.env, name: 'e2e-security' });
    for (const project of [world.project, other]) {
      world.gitlab.addHook({
        projectId: project.id,
        url: `${app.url}/webhooks/gitlab`,
        token: WEBHOOK_SECRET,
        deploymentEvents: true,
        pipelineEvents: true,
        jobEvents: true,
      });
    }
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.stop();
    await world?.close();
  });

  const deploy = (project: FakeProject, userId = world.bob.id) =>
    world.gitlab.createDeployment({ projectId: project.id, environment: 'production', userId });
  const cardFor = (id: number) =>
    waitFor(() => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === id), {
      what: `card ${id}`,
    });
  const noticesTo = (user: string) => world.slack.ephemerals({ user }).length;
  const noticeTo = (user: string, since: number) =>
    waitFor(() => world.slack.ephemerals({ user })[since], { what: `notice to ${user}` });

  /** A click Slack signed for real, on a button whose value someone crafted. */
  async function forgedClick(userId: string, actionId: string, value: string, card: { ts: string }) {
    const responseUrl = world.slack.issueResponseUrl({ kind: 'message', userId, channelId: CHANNEL, ts: card.ts });
    const payload = {
      type: 'block_actions',
      user: { id: userId, username: userId, name: userId, team_id: world.slack.identity.teamId },
      api_app_id: world.slack.identity.appId,
      container: { type: 'message', message_ts: card.ts, channel_id: CHANNEL, is_ephemeral: false },
      trigger_id: world.slack.issueTriggerId(userId),
      team: { id: world.slack.identity.teamId, domain: 'acme' },
      channel: { id: CHANNEL, name: 'deployments' },
      message: { ts: card.ts, type: 'message', text: 'card' },
      response_url: responseUrl,
      actions: [
        { type: 'button', action_id: actionId, block_id: 'actions', value, action_ts: String(Date.now() / 1000) },
      ],
    };
    const rawBody = new URLSearchParams([['payload', JSON.stringify(payload)]]).toString();
    const res = await sendSigned({
      appUrl: app.url,
      rawBody,
      contentType: SLACK_FORM_CONTENT_TYPE,
      signingSecret: world.slack.signingSecret,
    });
    expect(res.status).toBe(200);
    return responseUrl;
  }

  describe('a button value is never trusted: every click re-reads GitLab and re-checks the person', () => {
    let waiting: DeploymentView;
    let card: { ts: string };
    let bobsOther: DeploymentView;

    beforeAll(async () => {
      waiting = deploy(world.project);
      card = await cardFor(waiting.id);
      bobsOther = deploy(other);
      await cardFor(bobsOther.id);
    });

    it('refuses a value that points at a deployment of another project, without calling the approval API', async () => {
      const since = noticesTo(world.slackIds.alice);
      await forgedClick(
        world.slackIds.alice,
        'deploy_approve',
        JSON.stringify({ d: bobsOther.id, p: world.project.id }),
        card,
      );
      expect((await noticeTo(world.slackIds.alice, since)).text).toMatch(/no longer has this deployment/);
      expect(world.gitlab.approvalCalls()).toHaveLength(0);
    });

    it('applies the creator rule to the deployment the value names, not the card it was clicked on', async () => {
      const since = noticesTo(world.slackIds.bob);
      await forgedClick(world.slackIds.bob, 'deploy_approve', JSON.stringify({ d: bobsOther.id, p: other.id }), card);
      expect((await noticeTo(world.slackIds.bob, since)).text).toMatch(/you cannot approve it/);
      expect(world.gitlab.approvalCalls()).toHaveLength(0);
      expect(world.gitlab.getDeployment(bobsOther.id)!.approvals).toHaveLength(0);
    });

    it('refuses ids that do not exist', async () => {
      for (const value of [
        { d: 999_999, p: world.project.id },
        { d: waiting.id, p: 999_999 },
      ]) {
        const since = noticesTo(world.slackIds.alice);
        await forgedClick(world.slackIds.alice, 'deploy_approve', JSON.stringify(value), card);
        // A project nobody can read is refused before GitLab is asked about the deployment (visibility).
        expect((await noticeTo(world.slackIds.alice, since)).text).toMatch(
          /no longer has this deployment|You cannot act on this deployment/,
        );
      }
      expect(world.gitlab.approvalCalls()).toHaveLength(0);
    });

    it('re-checks the state: Run on a deployment still waiting for approval plays nothing', async () => {
      const since = noticesTo(world.slackIds.alice);
      await forgedClick(
        world.slackIds.alice,
        'deploy_run',
        JSON.stringify({ d: waiting.id, p: world.project.id }),
        card,
      );
      expect((await noticeTo(world.slackIds.alice, since)).text).toMatch(/still waits for approvals/);
      expect(world.gitlab.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/play'))).toHaveLength(0);
    });

    it('re-checks the person: a Slack user greenlight cannot map to GitLab records nothing', async () => {
      const since = noticesTo(world.slackIds.dave);
      await forgedClick(
        world.slackIds.dave,
        'deploy_approve',
        JSON.stringify({ d: waiting.id, p: world.project.id }),
        card,
      );
      expect((await noticeTo(world.slackIds.dave, since)).text).toMatch(/does not know your GitLab account/);
      expect(world.gitlab.approvalCalls()).toHaveLength(0);
    });

    it('answers values that are not greenlight buttons with a short message and enqueues nothing', async () => {
      const before = await app.app.queues.decisions.count();
      for (const value of [
        'not json',
        '{"d":-1,"p":1}',
        '{"d":"1","p":1}',
        '{"d":1.5,"p":1}',
        '[]',
        'null',
        `{"d":1,"p":1,"x":"${'y'.repeat(3000)}"}`,
      ]) {
        const url = await forgedClick(world.slackIds.alice, 'deploy_approve', value, card);
        await waitFor(
          () => world.slack.responses(url).some((r) => /could not read this button/.test(JSON.stringify(r.body))),
          { what: `answer to ${value.slice(0, 20)}` },
        );
      }
      expect(await app.app.queues.decisions.count()).toBe(before);
      expect(world.gitlab.approvalCalls()).toHaveLength(0);
    });

    it('still records a genuine click, as the person who clicked', async () => {
      await world.slack.clickButton(app.url, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      await waitFor(() => world.gitlab.approvalCalls().length === 1, { what: 'approval' });
      expect(world.gitlab.approvalCalls()[0]!).toMatchObject({
        path: `/api/v4/projects/${world.project.id}/deployments/${waiting.id}/approval`,
        actingUser: { username: 'alice' },
      });
    });
  });

  describe('secrets never leave', () => {
    const secrets = () => [ADMIN_TOKEN, WEBHOOK_SECRET, world.slack.botToken, world.slack.signingSecret];

    beforeAll(async () => {
      // A little of everything: a card, a rejection through the modal, a command, failures with and without tokens.
      const d = deploy(world.project);
      const card = await cardFor(d.id);
      await world.slack.clickButton(app.url, {
        userId: world.slackIds.carol,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_reject',
      });
      await waitFor(() => world.slack.lastView(world.slackIds.carol), { what: 'modal' });
      world.gitlab.failNext({ method: 'POST', path: /\/approval$/, status: 502 });
      await world.slack.submitView(app.url, {
        userId: world.slackIds.carol,
        values: { reason: { reason_input: 'Not today' } },
      });
      await waitFor(() => world.gitlab.getDeployment(d.id)?.status === 'failed', { what: 'rejected' });
      await world.slack.sendCommand(app.url, { userId: world.slackIds.alice, channelId: CHANNEL, text: 'whoami' });
      await fetch(`${app.url}/webhooks/gitlab`, {
        method: 'POST',
        headers: { ...webhookHeaders, 'x-gitlab-token': `${WEBHOOK_SECRET}-guess` },
        body: pipelineHook,
      });
      world.gitlab.revokeToken(ADMIN_TOKEN);
      deploy(world.project);
      await waitFor(
        () =>
          app.logs.find('job failed for good').length > 0 ||
          app.logs.find('job failed; will retry').some((l) => /401|unauthorized|revoked/i.test(JSON.stringify(l))),
        { what: 'a failure with a revoked token' },
      );
    });

    it('keeps tokens, secrets and response URLs out of the logs', () => {
      const text = app.logs.text();
      expect(app.logs.lines.length).toBeGreaterThan(50);
      for (const secret of secrets()) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/xox[abposr]-|glpat-/);
      expect(text).not.toContain('/hooks/response/');
    });

    it('keeps them out of Redis: job data, card records, everything under the prefix', async () => {
      const keys = await redis.keys(`*${app.prefix}*`);
      expect(keys.length).toBeGreaterThan(10);
      let dump = '';
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'string') dump += await redis.get(key);
        else if (type === 'hash') dump += JSON.stringify(await redis.hgetall(key));
        else if (type === 'list') dump += JSON.stringify(await redis.lrange(key, 0, -1));
        else if (type === 'set') dump += JSON.stringify(await redis.smembers(key));
        else if (type === 'zset') dump += JSON.stringify(await redis.zrange(key, 0, -1));
        else if (type === 'stream') dump += JSON.stringify(await redis.xrange(key, '-', '+'));
      }
      expect(dump).toContain('Not today'); // the dump does see job data
      for (const secret of secrets()) expect(dump).not.toContain(secret);
      expect(dump).not.toMatch(/xox[abposr]-|glpat-/);
      expect(dump).not.toContain('/hooks/response/');
    });
  });
});

describe('rate and size limits on public endpoints', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld();
    app = await startTestApp({
      // the test client stands in for clients behind a proxy on loopback, which the operator lists
      env: { ...world.env, ROLE: 'web', TRUSTED_PROXIES: '127.0.0.1,::1' },
      name: 'e2e-limits',
      options: {
        rateLimits: {
          webhooks: { perSecond: 0.5, burst: 3 },
          slack: { perSecond: 0.5, burst: 3 },
          oauth: { perSecond: 0.5, burst: 2 },
        },
      },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  const hook = (ip: string, token = WEBHOOK_SECRET) =>
    fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { ...webhookHeaders, 'x-gitlab-token': token, 'x-forwarded-for': ip },
      body: pipelineHook,
    });

  it(
    'answers 429 with Retry-After once an address exceeds the ' +
      'limit with webhooks that lack the secret; other addresses pass',
    async () => {
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await hook('198.51.100.7', 'wrong-0123456789abcdef')).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      const limited = await hook('198.51.100.7', 'wrong-0123456789abcdef');
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await hook('198.51.100.8', 'wrong-0123456789abcdef')).status).toBe(401);
      expect(app.logs.find('rate limit reached; answering 429')).toHaveLength(1);
    },
  );

  it(
    'never limits webhooks that carry the secret (GitLab sends ' +
      'bursts from one address and disables a hook after four failures)',
    async () => {
      const statuses = new Set<number>();
      for (let i = 0; i < 8; i += 1) statuses.add((await hook('198.51.100.7')).status);
      expect([...statuses].every((s) => s === 200 || s === 202)).toBe(true);
    },
  );

  it('limits Slack requests per address before checking signatures', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await world.slack.sendCommand(
        app.url,
        { userId: world.slackIds.alice, channelId: CHANNEL, text: 'help' },
        { signing: i === 1 ? 'wrong-secret' : 'valid' },
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 401, 200, 429]);
  });

  it('limits the OAuth routes per address', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push(
        (
          await fetch(`${app.url}/oauth/gitlab/callback?code=x&state=y`, {
            headers: { 'x-forwarded-for': '192.0.2.1' },
          })
        ).status,
      );
    expect(statuses.slice(2)).toEqual([429]);
  });

  it('answers Slack bodies over 1 MiB with 413 without reading them into a listener', async () => {
    const body = `payload=${'x'.repeat(1024 * 1024 + 10)}`;
    const res = await fetch(`${app.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': SLACK_FORM_CONTENT_TYPE, 'x-forwarded-for': '192.0.2.50' },
      body,
    });
    expect(res.status).toBe(413);
  });
});
