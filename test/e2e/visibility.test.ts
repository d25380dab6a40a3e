// Attack 3 of issue 14: /deploys and the Home tab listed deployments to people who could not see them: a card
// routed to a private channel showed up, with its buttons, for someone neither in that channel nor a member of
// the GitLab project. Now every surface shows a deployment only to a member of its card's channel or a GitLab
// account that can read the project, and a button for one the clicker could not see does nothing but say so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUser } from '../fakes/fake-gitlab.ts';
import type { CommandResult } from '../fakes/fake-slack.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { readManifest } from '../helpers/manifest.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown>;
type Answer = { text?: string; blocks?: Block[] };
const PRIVATE = 'G0SECRET';
const EVE = 'U0666EVE';

const approveValues = (blocks: Block[] = []) =>
  blocks
    .filter((b) => b.type === 'actions' || b.type === 'section')
    .flatMap((b) => [...((b.elements as Block[]) ?? []), ...(b.accessory ? [b.accessory as Block] : [])])
    .filter((e) => e.action_id === 'deploy_approve')
    .map((e) => (JSON.parse(e.value as string) as { d: number }).d);

describe('deployments are shown only to people who could see them anyway', () => {
  let world: World;
  let app: TestApp;
  let eve: FakeUser;
  let secret: number;
  let open: number;

  const answerTo = async (result: CommandResult) =>
    (await waitFor(() => world.slack.responses(result.responseUrl!)[0], { what: 'answer' })).body as Answer;
  const list = async (userId: string, text = '') =>
    answerTo(await world.slack.sendCommand(app.url, { userId, channelId: CHANNEL, text }));

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    world.slack.setScopes(readManifest().oauth_config.scopes.bot);
    // Eve is a full member of the workspace with a GitLab account (sudo mode finds it by e-mail), but she is in
    // neither the private channel nor the (private) GitLab project.
    eve = world.gitlab.addUser({ username: 'eve', name: 'Eve Outsider', email: 'eve@acme.test' });
    world.slack.addUser({ id: EVE, name: 'eve', email: 'eve@acme.test' });
    world.slack.addChannel({
      id: PRIVATE,
      name: 'secret-releases',
      isPrivate: true,
      botIsMember: true,
      members: [world.slackIds.alice],
    });
    world.gitlab.protectEnvironment(world.project.id, 'secret-prod', {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-visibility',
      policy: `channel: ${CHANNEL}\nroutes:\n  - match: { environment: "secret*" }\n    channel: ${PRIVATE}\n`,
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
    });
    secret = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'secret-prod',
      userId: world.bob.id,
    }).id;
    open = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    }).id;
    for (const [channel, id] of [
      [PRIVATE, secret],
      [CHANNEL, open],
    ] as const)
      await waitFor(() => world.slack.messages(channel).find((m) => m.metadata?.event_payload?.deployment_id === id), {
        what: `card ${id} in ${channel}`,
      });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  it('/deploys lists the private card to its channel and to readers of the project, not to anyone else', async () => {
    expect(approveValues((await list(EVE)).blocks)).toEqual([open]);
    expect(approveValues((await list(world.slackIds.dave)).blocks)).toEqual([open]);
    // alice is in the channel; carol is not, but her GitLab account can read the project
    expect(approveValues((await list(world.slackIds.alice)).blocks).sort()).toEqual([secret, open].sort());
    expect(approveValues((await list(world.slackIds.carol)).blocks).sort()).toEqual([secret, open].sort());
    const mine = await list(EVE, 'mine');
    expect(JSON.stringify(mine)).not.toContain('secret-prod');
    expect(JSON.stringify(await list(EVE, 'secret'))).not.toContain('secret-prod');
  });

  it('leaves the private card out of the Home tab of someone who could not see it', async () => {
    await world.slack.openHome(app.url, EVE);
    const home = await waitFor(() => world.slack.homeView(EVE)?.view as { blocks: Block[] } | undefined, {
      what: "eve's Home tab",
    });
    const text = JSON.stringify(home.blocks);
    expect(text).toContain('All pending (1)');
    expect(text).not.toContain('secret-prod');
  });

  it('does nothing but say so when someone clicks Approve on a deployment they could not see', async () => {
    // A button she still has from an answer given before (the list of an older version showed it to everyone).
    const seeded = await fetch(`${world.slack.apiUrl}chat.postEphemeral`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.slack.botToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        channel: CHANNEL,
        user: EVE,
        text: 'Pending approvals',
        blocks: [
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                action_id: 'deploy_approve',
                text: { type: 'plain_text', text: 'Approve' },
                value: JSON.stringify({ d: secret, p: world.project.id, v: 1 }),
              },
            ],
          },
        ],
      }),
    });
    expect(((await seeded.json()) as { ok: boolean }).ok).toBe(true);
    await world.slack.clickEphemeralButton(app.url, {
      userId: EVE,
      channel: CHANNEL,
      actionId: 'deploy_approve',
      value: JSON.stringify({ d: secret, p: world.project.id, v: 1 }),
    });
    const notice = await waitFor(
      () => world.slack.ephemerals({ user: EVE }).find((e) => /You cannot act on this deployment/.test(e.text)),
      { what: 'the refusal' },
    );
    expect(notice.text).not.toContain('secret-prod');
    expect(world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${secret}/`))).toEqual([]);
    expect(eve.id).toBeGreaterThan(0);
  });

  it('lets the channel member act on it', async () => {
    await world.slack.clickEphemeralButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      actionId: 'deploy_approve',
      value: JSON.stringify({ d: secret, p: world.project.id, v: 1 }),
    });
    await waitFor(
      () => world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${secret}/`) && c.status === 201),
      { what: "alice's approval" },
    );
  });
});
