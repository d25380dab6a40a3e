// Issue 16: with `four_eyes: { forbid_commit_author: true }` only the decision refused the commit author; the
// card's "can approve", `/deploys mine` and the DMs still named them. Now every one of them asks mayApprove.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown>;
type Button = { action_id: string; value?: string };
const rulesOf = (blocks: Block[]): string[] =>
  (blocks.filter((b) => /-r\d+-v\d+$/.test(String(b.block_id))) as Array<{ text: { text: string } }>).map(
    (b) => b.text.text,
  );
const approveButtonsOf = (blocks: Block[] = []): number[] =>
  blocks
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements as Button[])
    .filter((b) => b.action_id === 'deploy_approve')
    .map((b) => (JSON.parse(b.value!) as { d: number }).d);

/**
 * Sudo mode: acme/web's production needs one Maintainer approval; alice, bob and carol are Maintainers. Bob
 * triggers the deployment of a commit alice wrote: only carol may approve it.
 */
describe('four eyes: the author of the deployed commit is refused everywhere, not only on the click', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-commit-author',
      policy: 'four_eyes: { forbid_commit_author: true }\n',
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

  const dmsOn = async (userId: string) => {
    await world.slack.openHome(app.url, userId);
    await waitFor(() => world.slack.homeView(userId), { what: `${userId}'s Home tab` });
    await world.slack.clickHomeButton(app.url, { userId, actionId: 'home_dm_toggle' });
    await waitFor(() => JSON.stringify(world.slack.homeView(userId)?.view ?? {}).includes('Direct messages: on.'), {
      what: `${userId}'s DMs on`,
    });
  };
  const dmsAbout = (userId: string, deploymentId: number) =>
    world.slack.dms(userId).filter((m) => m.blocks[0]?.block_id === `dm-${deploymentId}-h`);

  let d: { id: number };
  let card: { ts: string; blocks: Block[] };
  const { alice, carol } = { alice: 'U0456ALICE', carol: 'U0321CAROL' };

  beforeAll(async () => {
    await dmsOn(alice);
    await dmsOn(carol);
    d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
      commitAuthor: { name: 'Alice Approver', email: 'alice@acme.test' },
    });
    card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      { what: `card for ${d.id}` },
    );
  });

  it('the card\'s "can approve" names carol, not alice', () => {
    expect(rulesOf(card.blocks)).toEqual([`:hourglass_flowing_sand: *Maintainers*: 0 of 1 — can approve: <@${carol}>`]);
  });

  it('DMs carol, not alice', async () => {
    await waitFor(() => dmsAbout(carol, d.id)[0], { what: 'DM to carol' });
    // The run that DMed carol weighed alice too (one run per change, over every subscriber).
    await waitFor(
      () => app.logs.find('DMs brought up to date').find((r) => r.deploymentId === d.id && Number(r.sent) >= 1),
      { what: 'the DM run for the deployment' },
    );
    expect(dmsAbout(alice, d.id)).toEqual([]);
  });

  it('lists it in carol’s `/deploys mine`, not in alice’s', async () => {
    const mine = async (userId: string) => {
      const result = await world.slack.sendCommand(app.url, { userId, channelId: CHANNEL, text: 'mine' });
      const post = await waitFor(() => world.slack.responses(result.responseUrl!)[0], { what: `${userId}'s mine` });
      return approveButtonsOf((post.body as { blocks?: Block[] }).blocks);
    };
    expect(await mine(carol)).toEqual([d.id]);
    expect(await mine(alice)).toEqual([]);
  });

  it('refuses alice’s click before GitLab is asked to record anything', async () => {
    const before = world.slack.ephemerals({ user: alice }).length;
    await world.slack.clickButton(app.url, {
      userId: alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    const answer = await waitFor(() => world.slack.ephemerals({ user: alice }).slice(before)[0], {
      what: 'answer to alice',
    });
    expect(answer.text).toMatch(/You wrote the commit being deployed, so you cannot approve it/);
    expect(world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${d.id}/`))).toEqual([]);
  });
});
