import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../fakes/fake-slack.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { readManifest } from '../helpers/manifest.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown>;
type Button = { action_id: string; value?: string; url?: string };
const buttonsOf = (blocks: Block[] = []): Button[] =>
  blocks.flatMap((b) => (b.type === 'actions' ? (b.elements as Button[]) : b.accessory ? [b.accessory as Button] : []));
const ids = (blocks: Block[], prefix: string) =>
  blocks
    .filter((b) => String(b.block_id).startsWith(`${prefix}-`) && String(b.block_id).endsWith('-s'))
    .map((b) => Number(String(b.block_id).split('-')[1]));
const valueFor = (deploymentId: number) => JSON.stringify({ d: deploymentId, p: 1, v: 1 });

/**
 * The Home tab and approvers' DMs against the real app (sudo mode): acme/web's production needs one
 * Maintainer approval; alice, bob and carol are Maintainers, bob triggers deployments, dave is unknown.
 */
describe('Home tab and DMs', () => {
  let world: World;
  let app: TestApp;

  const deploy = () =>
    world.gitlab.createDeployment({ projectId: world.project.id, environment: 'production', userId: world.bob.id });
  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for ${deploymentId}` },
    );
  /** DMs about one deployment (their first block names it). */
  const dmsAbout = (userId: string, deploymentId: number) =>
    world.slack.dms(userId).filter((m) => m.blocks[0]?.block_id === `dm-${deploymentId}-h`);
  const publishes = (userId: string) => world.slack.callsTo('views.publish').filter((c) => c.args.user_id === userId);
  const homeOf = (userId: string) =>
    world.slack.homeView(userId)?.view as { blocks: Block[]; callback_id: string } | undefined;
  /** Waits for a Home tab publish after `after` calls that satisfies `check`. */
  const homeWhere = (userId: string, check: (blocks: Block[]) => boolean, what: string) =>
    waitFor(
      () => {
        const view = homeOf(userId);
        return view && check(view.blocks) ? view : undefined;
      },
      { what },
    );

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    // exactly the scopes an operator grants through manifest.yml: a missing one fails here with missing_scope
    world.slack.setScopes(readManifest().oauth_config.scopes.bot);
    app = await startTestApp({ env: world.env, name: 'e2e-home' });
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
    await world?.gitlab.webhooksIdle();
    await app?.stop();
    await world?.close();
  });

  it(
    'publishes the Home tab when it is opened: waiting ' + 'for you, all pending, the link and the DM setting',
    async () => {
      const d = deploy();
      await cardFor(d.id);
      const opened = await world.slack.openHome(app.url, world.slackIds.alice);
      expect(opened.status).toBe(200);
      const view = await homeWhere(world.slackIds.alice, (b) => ids(b, 'all').includes(d.id), 'alice’s Home tab');
      expect(view.callback_id).toBe('greenlight_home');
      expect(ids(view.blocks, 'you')).toEqual([d.id]);
      const json = JSON.stringify(view.blocks);
      expect(json).toContain('Waiting for you (1)');
      expect(json).toContain('All pending (1)');
      expect(json).toContain('acts for you as GitLab user *@alice*');
      expect(json).toContain('found by your Slack e-mail address');
      expect(json).toContain('Direct messages: off.');
      // bob triggered it: nothing waits for him, but he sees it under All pending
      await world.slack.openHome(app.url, world.slackIds.bob);
      const bob = await homeWhere(world.slackIds.bob, (b) => ids(b, 'all').includes(d.id), 'bob’s Home tab');
      expect(ids(bob.blocks, 'you')).toEqual([]);
      expect(JSON.stringify(bob.blocks)).toContain('Nothing waits for your approval.');
    },
  );

  it('tells someone greenlight does not know how the mapping works (sudo mode)', async () => {
    await world.slack.openHome(app.url, world.slackIds.dave);
    const view = await homeWhere(world.slackIds.dave, () => true, 'dave’s Home tab');
    const json = JSON.stringify(view.blocks);
    expect(json).toContain('does not know your GitLab account yet');
    expect(json).toContain('`users:`');
    expect(buttonsOf(view.blocks).map((b) => b.action_id)).not.toContain('gitlab_link');
  });

  it('re-publishes the tabs of people who opened them when a deployment changes', async () => {
    const before = publishes(world.slackIds.alice).length;
    const carolBefore = publishes(world.slackIds.carol).length;
    const d = deploy();
    await cardFor(d.id);
    await homeWhere(world.slackIds.alice, (b) => ids(b, 'you').includes(d.id), 'alice’s tab with the new deployment');
    await homeWhere(world.slackIds.bob, (b) => ids(b, 'all').includes(d.id), 'bob’s tab with the new deployment');
    expect(publishes(world.slackIds.alice).length).toBeGreaterThan(before);
    // carol never opened her Home tab: nothing is published for her
    expect(publishes(world.slackIds.carol).length).toBe(carolBefore);
  });

  it('approves from the Home tab as the clicker; the notice arrives as a DM and the tab follows', async () => {
    const d = deploy();
    await cardFor(d.id);
    await homeWhere(world.slackIds.alice, (b) => ids(b, 'you').includes(d.id), 'alice’s tab with the deployment');
    const before = world.gitlab.approvalCalls().length;
    const click = await world.slack.clickHomeButton(app.url, {
      userId: world.slackIds.alice,
      actionId: 'deploy_approve',
      value: valueFor(d.id),
    });
    expect(click.status).toBe(200);
    expect(click.responseUrl).toBeUndefined();
    await waitFor(() => world.gitlab.approvalCalls().length > before, { what: 'approval call' });
    const call = world.gitlab.approvalCalls().at(-1)!;
    expect(call.path).toContain(`/deployments/${d.id}/approval`);
    expect(call.actingUser?.username).toBe('alice');
    await waitFor(
      () => world.slack.dms(world.slackIds.alice).some((m) => /You approved acme\/web → production/.test(m.text)),
      { what: 'notice in alice’s DM' },
    );
    await homeWhere(
      world.slackIds.alice,
      (b) => !ids(b, 'all').includes(d.id),
      'alice’s tab without the approved deployment',
    );
  });

  it('rejects from the Home tab through the reason form', async () => {
    const d = deploy();
    await cardFor(d.id);
    await world.slack.openHome(app.url, world.slackIds.carol);
    await homeWhere(world.slackIds.carol, (b) => ids(b, 'you').includes(d.id), 'carol’s tab');
    await world.slack.clickHomeButton(app.url, {
      userId: world.slackIds.carol,
      actionId: 'deploy_reject',
      value: valueFor(d.id),
    });
    await waitFor(() => world.slack.lastView(world.slackIds.carol)?.open, { what: 'reject modal' });
    await world.slack.submitView(app.url, {
      userId: world.slackIds.carol,
      values: { reason: { reason_input: 'Freeze until Monday' } },
    });
    await waitFor(() => world.gitlab.getDeployment(d.id)?.status === 'failed', { what: 'rejected in GitLab' });
    expect(
      world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${d.id}/`))?.actingUser?.username,
    ).toBe('carol');
    await waitFor(() => world.slack.dms(world.slackIds.carol).some((m) => /You rejected/.test(m.text)), {
      what: 'notice in carol’s DM',
    });
  });

  it(
    'turns DMs on from the Home tab; then DMs approvers when ' +
      'something starts waiting, and updates the DM like a card',
    async () => {
      await world.slack.clickHomeButton(app.url, { userId: world.slackIds.carol, actionId: 'home_dm_toggle' });
      await homeWhere(
        world.slackIds.carol,
        (b) => JSON.stringify(b).includes('Direct messages: on.'),
        'carol’s tab with DMs on',
      );
      const toggle = buttonsOf(homeOf(world.slackIds.carol)!.blocks).find((b) => b.action_id === 'home_dm_toggle')!;
      expect(toggle.value).toBe('off');

      const d = deploy();
      await cardFor(d.id);
      const dmChannel = world.slack.dmChannelId(world.slackIds.carol);
      const dm = await waitFor(() => dmsAbout(world.slackIds.carol, d.id)[0], { what: 'DM to carol' });
      expect(dm.channel).toBe(dmChannel);
      expect(dm.text).toBe('acme/web → production: Waiting for your approval.');
      expect(buttonsOf(dm.blocks).map((b) => b.action_id)).toEqual([
        'deploy_approve',
        'deploy_reject',
        'deploy_open_gitlab',
      ]);
      // conversations.open first (once: the D… id is kept), then chat.postMessage to the channel it returned
      const mine = world.slack.calls.filter(
        (c: CallRecord) =>
          (c.method === 'conversations.open' && c.args.users === world.slackIds.carol) ||
          (c.method === 'chat.postMessage' && c.args.channel === dmChannel),
      );
      expect(mine[0]!.method).toBe('conversations.open');
      expect(mine.filter((c) => c.method === 'conversations.open')).toHaveLength(1);
      expect(mine.at(-1)).toMatchObject({ method: 'chat.postMessage', args: { text: dm.text } });
      // alice did not turn DMs on; bob triggered it
      expect(dmsAbout(world.slackIds.alice, d.id)).toEqual([]);
      expect(world.slack.dms(world.slackIds.bob)).toEqual([]);

      world.gitlab.approveInUi(d.id, world.alice.id, 'approved');
      const updated = await waitFor(
        () => {
          const m = world.slack.message(dmChannel, dm.ts);
          return m && m.history.some((h) => h.via === 'chat.update') && /Fully approved/.test(m.text) ? m : undefined;
        },
        { what: 'DM updated' },
      );
      expect(buttonsOf(updated.blocks).map((b) => b.action_id)).toEqual(['deploy_open_gitlab']);
      // one DM per deployment: the update did not post another
      expect(dmsAbout(world.slackIds.carol, d.id)).toHaveLength(1);
    },
  );

  it('approves from the DM like from the card', async () => {
    const d = deploy();
    await cardFor(d.id);
    const dmChannel = world.slack.dmChannelId(world.slackIds.carol);
    const dm = await waitFor(() => dmsAbout(world.slackIds.carol, d.id)[0], { what: 'DM to carol' });
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.carol,
      channel: dmChannel,
      ts: dm.ts,
      actionId: 'deploy_approve',
    });
    await waitFor(() => world.gitlab.getDeployment(d.id)?.pendingApprovalCount === 0, { what: 'approved in GitLab' });
    expect(
      world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${d.id}/`))?.actingUser?.username,
    ).toBe('carol');
    await waitFor(() => /Fully approved/.test(world.slack.message(dmChannel, dm.ts)?.text ?? ''), {
      what: 'DM shows the approval',
    });
  });

  it('stops DMs when turned off', async () => {
    await world.slack.clickHomeButton(app.url, { userId: world.slackIds.carol, actionId: 'home_dm_toggle' });
    await homeWhere(
      world.slackIds.carol,
      (b) => JSON.stringify(b).includes('Direct messages: off.'),
      'carol’s tab with DMs off',
    );
    const d = deploy();
    await cardFor(d.id);
    // once the personal updates for this deployment are done, its DM would have been sent
    await waitFor(() => app.logs.find('personal updates done').some((r) => r.deploymentId === d.id), {
      what: 'personal updates done',
    });
    expect(dmsAbout(world.slackIds.carol, d.id)).toEqual([]);
  });

  it('leaves nothing unexpected behind', () => {
    expect(world.slack.unexpected()).toEqual([]);
    expect(app.logs.find('job failed for good')).toEqual([]);
  });
});
