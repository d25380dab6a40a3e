// sudo mode end to end: decisions reach GitLab with the Sudo header for the mapped person (policy file or
// e-mail), four eyes uses the mapped person's e-mail, and link/unlink/whoami explain the mode.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/adapters/redis/audit-log.ts';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { ADMIN_TOKEN, CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const ERIN = 'U0555ERIN';

describe('sudo mode: the administrator token acts for the mapped person', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern', requiredApprovals: 2 });
    world.slack.addUser({ id: ERIN, name: 'erin', email: 'erin@contractor.test' });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-sudo-id',
      policy: 'users:\n  - { slack: U0555ERIN, gitlab: carol }\nfour_eyes: { forbid_commit_author: true }\n',
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
  });

  const deploy = (commitAuthor?: { name: string; email: string }) =>
    world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
      ...(commitAuthor && { commitAuthor }),
    });
  const approve = async (slackUserId: string, deploymentId: number) => {
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: 'card' },
    );
    await world.slack.clickButton(app.url, {
      userId: slackUserId,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
  };
  const ephemeral = (userId: string, pattern: RegExp) =>
    waitFor(() => world.slack.ephemerals({ user: userId }).find((e) => pattern.test(e.text ?? '')), {
      what: `ephemeral ${pattern} to ${userId}`,
    });
  const approvalsOf = (deploymentId: number) =>
    world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${deploymentId}/`));
  async function command(userId: string, text: string) {
    const after = world.slack.ephemerals({ user: userId }).length;
    await world.slack.sendCommand(app.url, { userId, channelId: CHANNEL, text });
    return waitFor(
      () =>
        world.slack
          .ephemerals({ user: userId })
          .slice(after)
          .find((e) => e.via === 'response_url'),
      { what: `answer to ${text}` },
    );
  }

  it('records decisions with Sudo for the person found by e-mail and by the policy file', async () => {
    const d = deploy();
    await approve(world.slackIds.alice, d.id);
    await approve(ERIN, d.id);
    await waitFor(() => approvalsOf(d.id).length === 2, { what: 'two approvals' });
    const byUser = Object.fromEntries(approvalsOf(d.id).map((c) => [c.actingUser?.username, c]));
    for (const [username, person] of [
      ['alice', world.alice],
      ['carol', world.carol],
    ] as const) {
      expect(byUser[username]).toMatchObject({
        status: 201,
        viaSudo: true,
        tokenKind: 'personal',
        tokenUser: { username: 'greenlight-admin' },
      });
      expect(byUser[username]!.headers.sudo).toBe(String(person.id));
      expect(byUser[username]!.headers['private-token']).toBe(ADMIN_TOKEN);
    }
    // Never GITLAB_TOKEN alone: no decision request went out without the Sudo header.
    const decisions = world.gitlab.requests.filter((r) => r.method === 'POST' && /\/(approval|play)$/.test(r.path));
    expect(decisions.every((r) => r.viaSudo && r.headers.sudo !== undefined)).toBe(true);
  });

  it('four eyes: refuses the commit author, whether mapped by e-mail or by the policy file', async () => {
    const byAlice = deploy({ name: 'Alice Approver', email: 'alice@acme.test' });
    await approve(world.slackIds.alice, byAlice.id);
    await ephemeral(world.slackIds.alice, /You wrote the commit being deployed/);
    // erin is carol in GitLab (policy file); carol's e-mail is looked up with the administrator token.
    const byCarol = deploy({ name: 'Carol QA', email: 'CAROL@acme.test' });
    await approve(ERIN, byCarol.id);
    await ephemeral(ERIN, /You wrote the commit being deployed/);
    expect([...approvalsOf(byAlice.id), ...approvalsOf(byCarol.id)]).toEqual([]);
  });

  it('explains that linking is not needed, and whoami checks the Sudo identity with GitLab', async () => {
    expect((await command(world.slackIds.alice, 'link')).text).toMatch(/sudo mode.*nothing to link/);
    expect((await command(world.slackIds.alice, 'unlink')).text).toMatch(/Nothing to unlink/);
    const me = await command(world.slackIds.alice, 'whoami');
    expect(me.text).toMatch(
      /acts for you as GitLab user \*@alice\* \(Alice Approver\), found by your e-mail address\. Mode: sudo.*GitLab accepts it/,
    );
    expect(
      world.gitlab.requests.some((r) => r.path === '/api/v4/user' && r.viaSudo && r.actingUser?.username === 'alice'),
    ).toBe(true);
    expect((await command(ERIN, 'whoami')).text).toMatch(/\*@carol\*.*found by the policy file/);
    expect((await command(world.slackIds.dave, 'whoami')).text).toMatch(/does not know your GitLab account/);
  });

  it('audits each attempt with the GitLab user it acted as', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const entries = await waitFor(
        async () => {
          const all = await createAuditLog(redis, keyspace(app.prefix)).read({ sinceMs: Date.now() - 60_000 });
          return all.length >= 4 ? all : undefined;
        },
        { what: 'audit entries' },
      );
      // Each test clicks as alice and erin at once: the two decisions are processed concurrently, in either order.
      const seen = entries.map((e) => [e.slackUser, e.gitlabUser, e.outcome]);
      expect(seen).toHaveLength(4);
      expect(seen).toEqual(
        expect.arrayContaining([
          [world.slackIds.alice, 'alice', 'recorded'],
          [ERIN, 'carol', 'recorded'],
          [world.slackIds.alice, 'alice', 'commit_author'],
          [ERIN, 'carol', 'commit_author'],
        ]),
      );
      expect(await createAuditLog(redis, keyspace(app.prefix)).read({ sinceMs: Date.now() + 60_000 })).toEqual([]);
      expect(await createAuditLog(redis, keyspace(app.prefix)).read({ sinceMs: 0, limit: 1 })).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });
});
