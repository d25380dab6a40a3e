import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProject, FakeUser } from '../fakes/fake-gitlab.ts';
import type { CommandResult } from '../fakes/fake-slack.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { readManifest } from '../helpers/manifest.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown>;
type Button = { action_id: string; value?: string; url?: string };
type Answer = { text?: string; blocks?: Block[]; replace_original?: boolean; response_type?: string };
const buttonsOf = (blocks: Block[] = []): Button[] =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);
const listed = (answer: Answer) =>
  buttonsOf(answer.blocks)
    .filter((b) => b.action_id === 'deploy_approve')
    .map((b) => (JSON.parse(b.value!) as { d: number }).d);

/**
 * The slash command's list against the real app: fake GitLab (sudo mode) and fake Slack. acme/web's
 * production needs a Maintainer; acme/payments' pre-release (tier staging) too, and carol is only a
 * Developer there. bob triggers everything.
 */
describe('/deploys: what waits for approval', () => {
  let world: World;
  let app: TestApp;
  let payments: FakeProject;
  let erin: FakeUser;
  const ids: { web: number; pay: number; canary: number[] } = { web: 0, pay: 0, canary: [] };

  const cardById = (deploymentId: number) =>
    world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId);
  const cardFor = (deploymentId: number) => waitFor(() => cardById(deploymentId), { what: `card for ${deploymentId}` });
  const command = (userId: string, text: string) =>
    world.slack.sendCommand(app.url, { userId, channelId: CHANNEL, text });
  const answerTo = async (result: CommandResult | { responseUrl: string | undefined }, index = 0) => {
    const post = await waitFor(() => world.slack.responses(result.responseUrl!)[index], {
      what: 'answer through response_url',
    });
    expect(post.status).toBe(200);
    return post.body as Answer;
  };
  const list = async (userId: string, text: string) => {
    const result = await command(userId, text);
    expect(result.status).toBe(200);
    expect(result.body).toBe('');
    return answerTo(result);
  };

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    // exactly the scopes an operator grants through manifest.yml: a missing one fails here with missing_scope
    world.slack.setScopes(readManifest().oauth_config.scopes.bot);
    erin = world.gitlab.addUser({ username: 'erin', name: 'Erin Extern', email: 'erin@acme.test' });
    world.slack.addUser({ id: 'U0555ERIN', name: 'erin', email: 'erin@acme.test' });
    payments = world.gitlab.addProject({ pathWithNamespace: 'acme/payments' });
    world.gitlab.addProjectMember(payments.id, world.alice.id, 40);
    world.gitlab.addProjectMember(payments.id, world.bob.id, 40);
    world.gitlab.addProjectMember(payments.id, world.carol.id, 30);
    world.gitlab.protectEnvironment(payments.id, 'pre-release', {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    // one environment each: a newer deployment to the same environment supersedes the waiting one
    for (let i = 1; i <= 23; i++)
      world.gitlab.protectEnvironment(world.project.id, `canary-${i}`, {
        approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
      });
    app = await startTestApp({ env: world.env, name: 'e2e-list' });
    for (const projectId of [world.project.id, payments.id]) {
      world.gitlab.addHook({
        projectId,
        url: `${app.url}/webhooks/gitlab`,
        token: WEBHOOK_SECRET,
        deploymentEvents: true,
        pipelineEvents: true,
        jobEvents: true,
      });
    }
    ids.web = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    }).id;
    world.gitlab.advanceClock(60_000);
    ids.pay = world.gitlab.createDeployment({
      projectId: payments.id,
      environment: 'pre-release',
      tier: 'staging',
      userId: world.bob.id,
    }).id;
    await cardFor(ids.web);
    await cardFor(ids.pay);
  });
  afterAll(async () => {
    // app.stop() waits for connections in use: let GitLab finish delivering first.
    await world?.gitlab.webhooksIdle();
    await app?.stop();
    await world?.close();
  });

  it('answers `mine` within Slack’s 3 s even while GitLab is slow, and completes through response_url', async () => {
    // GitLab holds the user lookup (who alice is there) until the test releases it: an ack that waited for it
    // would never come
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    world.gitlab.failNext({ path: '/api/v4/users', until: held });
    const seen = world.gitlab.requests.length;
    const result = await command(world.slackIds.alice, 'mine');
    expect(result.status).toBe(200);
    expect(result.body).toBe('');
    // the slow read is under way, held, and nothing was answered yet
    await waitFor(() => world.gitlab.requests.slice(seen).some((r) => r.path === '/api/v4/users' && r.status === 0), {
      what: 'the held GitLab read',
    });
    expect(world.slack.responses(result.responseUrl)).toHaveLength(0);
    release();
    const answer = await answerTo(result);
    expect(answer.response_type).toBe('ephemeral');
    expect(listed(answer)).toEqual([ids.pay, ids.web]);
    expect(answer.text).toBe('2 deployments wait for your approval (as @alice)');
  });

  it(
    'lists everything that waits, newest first, with the ' +
      'project, environment, wait, progress and the card’s buttons',
    async () => {
      const answer = await list(world.slackIds.dave, '');
      expect(listed(answer)).toEqual([ids.pay, ids.web]);
      const json = JSON.stringify(answer.blocks);
      for (const part of [
        'acme/payments',
        'pre-release',
        '(staging)',
        'acme/web',
        'production',
        'Waiting ',
        '0 of 1 approvals',
      ])
        expect(json).toContain(part);
      // the same action_ids and values as the card
      const card = await cardFor(ids.web);
      const essentials = (b: Button & { style?: string; confirm?: { text: { text: string } } }) => ({
        action_id: b.action_id,
        value: b.value,
        style: b.style,
        confirm: b.confirm?.text.text,
      });
      const fromCard = buttonsOf(card.blocks).filter((b) => b.action_id !== 'deploy_open_gitlab');
      const fromList = buttonsOf(answer.blocks).filter(
        (b) => b.action_id !== 'deploy_open_gitlab' && b.value && JSON.parse(b.value).d === ids.web,
      );
      expect(fromList.map(essentials)).toEqual(fromCard.map(essentials));
      expect(fromCard.map((b) => b.action_id)).toEqual(['deploy_approve', 'deploy_reject']);
    },
  );

  it('filters by project path fragment, environment or tier, and says so when nothing matches', async () => {
    expect(listed(await list(world.slackIds.dave, 'payments'))).toEqual([ids.pay]);
    expect(listed(await list(world.slackIds.dave, 'staging'))).toEqual([ids.pay]);
    expect(listed(await list(world.slackIds.dave, 'acme/web PRODUCTION'))).toEqual([ids.web]);
    const none = await list(world.slackIds.dave, 'frobnicate');
    expect(none.text).toContain('Nothing waiting matches `frobnicate`');
    expect(JSON.stringify(none.blocks)).toContain('/deploys mine');
    expect(listed(none)).toEqual([]);
  });

  it('`mine` lists only what the person can approve by rule membership and has not decided', async () => {
    expect(listed(await list(world.slackIds.carol, 'mine'))).toEqual([ids.web]);
    // bob triggered both: nothing for him
    const bob = await list(world.slackIds.bob, 'mine');
    expect(bob.text).toContain('Nothing waits for your approval (as @bob)');
    // erin is known to GitLab but in no rule
    expect((await list('U0555ERIN', 'mine')).text).toContain('Nothing waits for your approval (as @erin)');
    expect(erin.username).toBe('erin');
    // dave's Slack e-mail matches no GitLab user
    expect((await list(world.slackIds.dave, 'mine')).text).toContain('does not know your GitLab account');
    expect((await list(world.slackIds.dave, 'help')).text).toContain('/deploys mine');
  });

  it('approves from the list as the clicker, exactly like the card', async () => {
    await list(world.slackIds.carol, 'mine');
    const before = world.gitlab.approvalCalls().length;
    const click = await world.slack.clickEphemeralButton(app.url, {
      userId: world.slackIds.carol,
      actionId: 'deploy_approve',
    });
    expect(click.status).toBe(200);
    await waitFor(() => world.gitlab.approvalCalls().length > before, { what: 'approval call' });
    const call = world.gitlab.approvalCalls().at(-1)!;
    expect(call.path).toContain(`/deployments/${ids.web}/approval`);
    expect(call.actingUser?.username).toBe('carol');
    expect(call.viaSudo).toBe(true);
    await waitFor(
      () =>
        world.slack
          .ephemerals({ user: world.slackIds.carol, channel: CHANNEL })
          .some((e) => /You approved acme\/web → production/.test(e.text ?? '')),
      { what: 'notice to carol' },
    );
    // the card follows, and the list no longer shows it
    await waitFor(
      () =>
        /Approved/.test(
          world.slack.message(
            CHANNEL,
            world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === ids.web)!.ts,
          )!.text,
        ),
      { what: 'card approved' },
    );
    await waitFor(async () => listed(await list(world.slackIds.dave, '')).join() === String(ids.pay), {
      what: 'list without the approved one',
    });
  });

  it('rejects from the list through the same reason form', async () => {
    await list(world.slackIds.alice, 'payments');
    await world.slack.clickEphemeralButton(app.url, { userId: world.slackIds.alice, actionId: 'deploy_reject' });
    const view = await waitFor(() => world.slack.lastView(world.slackIds.alice), { what: 'reject modal' });
    expect(view.view.callback_id).toBe('deploy_reject_modal');
    await world.slack.submitView(app.url, {
      userId: world.slackIds.alice,
      values: { reason: { reason_input: 'Wrong release branch' } },
    });
    await waitFor(() => world.gitlab.getDeployment(ids.pay)?.status === 'failed', { what: 'rejected in GitLab' });
    const call = world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${ids.pay}/`))!;
    expect(call.actingUser?.username).toBe('alice');
    expect(call.body).toMatchObject({ status: 'rejected', comment: 'Wrong release branch' });
  });

  it('pages with Show more when more wait than fit in one message', async () => {
    for (let i = 1; i <= 23; i++) {
      world.gitlab.advanceClock(1_000);
      ids.canary.push(
        world.gitlab.createDeployment({ projectId: world.project.id, environment: `canary-${i}`, userId: world.bob.id })
          .id,
      );
    }
    // 23 cards paced to one channel: on a busy machine that takes a while, so wait while they keep coming
    const posted = () => ids.canary.filter((id) => cardById(id)).length;
    await waitFor(() => posted() === ids.canary.length, { what: 'every canary card', progress: posted });
    const first = await list(world.slackIds.dave, 'canary');
    const newestFirst = [...ids.canary].reverse();
    expect(listed(first)).toEqual(newestFirst.slice(0, 20));
    expect(first.blocks!.length).toBeLessThanOrEqual(50);
    const more = buttonsOf(first.blocks).find((b) => b.action_id === 'pending_list_more')!;
    expect(JSON.parse(more.value!)).toEqual({ q: 'canary', o: 20 });

    const click = await world.slack.clickEphemeralButton(app.url, {
      userId: world.slackIds.dave,
      actionId: 'pending_list_more',
    });
    expect(click.status).toBe(200);
    const post = await waitFor(() => world.slack.responses(click.responseUrl!)[0], { what: 'next page' });
    expect(post.effect).toBe('replaced');
    const next = post.body as Answer;
    expect(next.replace_original).toBe(true);
    expect(listed(next)).toEqual(newestFirst.slice(20));
    expect(JSON.stringify(next.blocks)).toContain('showing 21–23');
    expect(buttonsOf(next.blocks).some((b) => b.action_id === 'pending_list_more')).toBe(false);
  });

  it('tells the outcome by DM when it cannot answer where the list was opened', async () => {
    world.slack.addChannel({
      id: 'G0PRIVATE',
      name: 'release-crew',
      isPrivate: true,
      botIsMember: false,
      members: [world.slackIds.carol],
    });
    const result = await world.slack.sendCommand(app.url, {
      userId: world.slackIds.carol,
      channelId: 'G0PRIVATE',
      text: 'canary',
    });
    const answer = await answerTo(result);
    const newest = listed(answer)[0]!;
    await world.slack.clickEphemeralButton(app.url, {
      userId: world.slackIds.carol,
      channel: 'G0PRIVATE',
      actionId: 'deploy_approve',
      value: JSON.stringify({ d: newest, p: world.project.id, v: 1 }),
    });
    await waitFor(
      () => world.slack.dms(world.slackIds.carol).some((m) => /You approved acme\/web → canary/.test(m.text)),
      { what: 'notice in carol’s DM' },
    );
    expect(
      world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${newest}/`))?.actingUser?.username,
    ).toBe('carol');
  });

  it('leaves nothing unexpected behind', () => {
    expect(world.slack.unexpected()).toEqual([]);
    expect(app.logs.find('slash command failed')).toEqual([]);
  });
});
