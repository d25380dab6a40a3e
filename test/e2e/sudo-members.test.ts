// Attack 2 of issue 14: sudo mode trusted any Slack account whose e-mail matched a GitLab user. A guest, an
// external Slack Connect user (is_stranger, another team) or an account with an unconfirmed e-mail could approve
// as that GitLab user. Now only full members of the installed workspace with a confirmed e-mail are matched by
// e-mail; the policy file's explicit `users:` list still maps anyone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/** Slack accounts that carry a GitLab user's e-mail but are not full members of the workspace. */
const IMPOSTORS = [
  {
    id: 'U0601GUEST',
    name: 'guest',
    as: { isRestricted: true },
    says: /yours is a guest account/,
  },
  {
    id: 'U0602SINGLE',
    name: 'single-channel-guest',
    as: { isUltraRestricted: true },
    says: /yours is a guest account/,
  },
  {
    id: 'U0603STRANGER',
    name: 'stranger',
    as: { isStranger: true, teamId: 'T0999OTHER' },
    says: /your account belongs to another organisation/,
  },
  {
    id: 'U0604OTHERTEAM',
    name: 'other-team',
    as: { teamId: 'T0999OTHER' },
    says: /your account belongs to another organisation/,
  },
  {
    id: 'U0605UNCONFIRMED',
    name: 'unconfirmed',
    as: { emailConfirmed: false },
    says: /yours is not confirmed/,
  },
] as const;
const MAPPED_GUEST = 'U0606MAPPED';

describe('sudo mode matches only full members of the installed workspace', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    // Every impostor carries Alice's GitLab e-mail.
    for (const impostor of IMPOSTORS)
      world.slack.addUser({ id: impostor.id, name: impostor.name, email: 'alice@acme.test', ...impostor.as });
    world.slack.addUser({ id: MAPPED_GUEST, name: 'mapped-guest', email: 'x@guest.test', isRestricted: true });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-sudo-members',
      policy: `users:\n  - { slack: ${MAPPED_GUEST}, gitlab: carol }\n`,
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  const approvalsOf = (deploymentId: number) =>
    world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${deploymentId}/`));

  async function clickApprove(slackUserId: string, deploymentId: number) {
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for ${deploymentId}` },
    );
    const before = world.slack.ephemerals({ user: slackUserId }).length;
    await world.slack.clickButton(app.url, {
      userId: slackUserId,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    return waitFor(() => world.slack.ephemerals({ user: slackUserId }).slice(before)[0], {
      what: `answer to ${slackUserId}`,
    });
  }

  it.each(IMPOSTORS)('refuses $name with a sentence that says why, and records nothing', async (impostor) => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const answer = await clickApprove(impostor.id, d.id);
    expect(answer.text).toMatch(impostor.says);
    expect(answer.text).toMatch(/Ask a greenlight admin to add you to `users:`/);
    expect(approvalsOf(d.id)).toEqual([]);
  });

  it('still maps anyone the policy names explicitly (a guest mapped to carol approves as carol)', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const answer = await clickApprove(MAPPED_GUEST, d.id);
    expect(answer.text).toMatch(/as @carol/);
    expect(approvalsOf(d.id)).toEqual([
      expect.objectContaining({
        status: 201,
        viaSudo: true,
        actingUser: expect.objectContaining({ username: 'carol' }),
      }),
    ]);
  });

  it('still matches a full member by confirmed e-mail (alice approves as alice)', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const answer = await clickApprove(world.slackIds.alice, d.id);
    expect(answer.text).toMatch(/as @alice/);
    expect(approvalsOf(d.id)).toEqual([
      expect.objectContaining({
        status: 201,
        viaSudo: true,
        actingUser: expect.objectContaining({ username: 'alice' }),
      }),
    ]);
  });
});
