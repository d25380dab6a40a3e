import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appIdle, startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Button = { action_id: string; value?: string; url?: string };
const buttonsOf = (blocks: Array<Record<string, unknown>>): Button[] =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);

describe('approval loop (GitLab 19.3+ webhooks, sudo mode)', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    // dave's Slack e-mail matches nobody in GitLab; the policy file maps erin's Slack account to carol.
    world.slack.addUser({ id: 'U0555ERIN', name: 'erin', email: 'erin@contractor.test' });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-loop',
      policy: 'users:\n  - { slack: U0555ERIN, gitlab: carol }\n',
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

  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for deployment ${deploymentId}` },
    );

  it('posts a card for a blocked deployment and records an approval as the clicker', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
      commitTitle: 'Add login page',
    });
    const card = await cardFor(d.id);
    expect(card.text).toContain('acme/web → production');
    expect(buttonsOf(card.blocks).map((b) => b.action_id)).toEqual([
      'deploy_approve',
      'deploy_reject',
      'deploy_open_gitlab',
    ]);

    const click = await world.slack.clickButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    expect(click.status).toBe(200);
    await waitFor(() => world.gitlab.approvalCalls().length === 1, { what: 'approval call' });
    const call = world.gitlab.approvalCalls()[0]!;
    expect(call.actingUser?.username).toBe('alice');
    expect(call.viaSudo).toBe(true);

    const updated = await waitFor(
      () => {
        const m = world.slack.message(CHANNEL, card.ts);
        return m && buttonsOf(m.blocks).every((b) => b.action_id !== 'deploy_approve') ? m : undefined;
      },
      { what: 'card without Approve' },
    );
    expect(updated.text).toMatch(/Approved/);
    await waitFor(
      () => world.slack.ephemerals({ user: world.slackIds.alice }).some((e) => /You approved/.test(e.text ?? '')),
      { what: 'notice to alice' },
    );
  });

  const deploy = (over: { userId?: number; environment?: string; manual?: boolean } = {}) =>
    world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: over.environment ?? 'production',
      userId: over.userId ?? world.bob.id,
      ...(over.manual !== undefined && { manual: over.manual }),
    });
  const ephemeralTo = (userId: string, pattern: RegExp) =>
    waitFor(() => world.slack.ephemerals({ user: userId }).find((e) => pattern.test(e.text ?? '')), {
      what: `ephemeral ${pattern} to ${userId}`,
    });

  it('refuses the creator with a short explanation and never calls the approval API', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    const before = world.gitlab.approvalCalls().length;
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.bob,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    const notice = await ephemeralTo(world.slackIds.bob, /you cannot approve it/);
    expect(notice.text).toMatch(/triggered this deployment/);
    expect(world.gitlab.approvalCalls().length).toBe(before);
    expect(world.gitlab.getDeployment(d.id)!.pendingApprovalCount).toBe(1);
  });

  it('records an approval by a user mapped in the policy file as that GitLab user', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    await world.slack.clickButton(app.url, {
      userId: 'U0555ERIN',
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    await waitFor(() => world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${d.id}/`)), {
      what: 'approval call',
    });
    const call = world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${d.id}/`))!;
    expect(call.actingUser?.username).toBe('carol');
    expect(call.status).toBe(201);
  });

  it('tells a Slack user without a GitLab account how to get linked, and calls nothing', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    const before = world.gitlab.approvalCalls().length;
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.dave,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    const notice = await ephemeralTo(world.slackIds.dave, /does not know your GitLab account/);
    expect(notice.text).toMatch(/users:/);
    expect(world.gitlab.approvalCalls().length).toBe(before);
  });

  it('rejects with a reason from the modal, and the card shows who and why', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.carol,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_reject',
    });
    const view = await waitFor(() => world.slack.lastView(world.slackIds.carol), { what: 'reject modal' });
    expect(view.view.callback_id).toBe('deploy_reject_modal');
    const tooShort = await world.slack.submitView(app.url, {
      userId: world.slackIds.carol,
      values: { reason: { reason_input: 'no' } },
      bypassClientValidation: true,
    });
    expect(tooShort.outcome).toBe('errors');
    const submitted = await world.slack.submitView(app.url, {
      userId: world.slackIds.carol,
      values: { reason: { reason_input: 'Smoke tests fail on staging' } },
    });
    expect(submitted.status).toBe(200);
    await waitFor(() => world.gitlab.getDeployment(d.id)?.status === 'failed', {
      what: 'deployment rejected in GitLab',
    });
    const call = world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${d.id}/`))!;
    expect(call.actingUser?.username).toBe('carol');
    expect(call.body).toMatchObject({ status: 'rejected', comment: 'Smoke tests fail on staging' });
    const rejected = await waitFor(
      () => {
        const m = world.slack.message(CHANNEL, card.ts);
        return m && /Rejected/.test(m.text ?? '') ? m : undefined;
      },
      { what: 'rejected card' },
    );
    expect(JSON.stringify(rejected.blocks)).toContain('Smoke tests fail on staging');
    expect(buttonsOf(rejected.blocks).map((b) => b.action_id)).toEqual(['deploy_open_gitlab']);
  });

  it("shows an approval made in GitLab's web UI on the card", async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    world.gitlab.approveInUi(d.id, world.carol.id, 'approved', 'ok from the UI');
    const updated = await waitFor(
      () => {
        const m = world.slack.message(CHANNEL, card.ts);
        return m && /Approved/.test(m.text ?? '') ? m : undefined;
      },
      { what: 'card approved from UI' },
    );
    expect(JSON.stringify(updated.blocks)).toContain('ok from the UI');
    expect(buttonsOf(updated.blocks).map((b) => b.action_id)).toEqual(['deploy_run', 'deploy_open_gitlab']);
  });

  it('follows the deployment to the end: run, running, succeeded', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    world.gitlab.approveInUi(d.id, world.carol.id, 'approved');
    await waitFor(
      () => buttonsOf(world.slack.message(CHANNEL, card.ts)!.blocks).some((b) => b.action_id === 'deploy_run'),
      { what: 'Run button' },
    );
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_run',
    });
    await waitFor(() => world.gitlab.getDeployment(d.id)?.status === 'running', { what: 'job played' });
    const play = world.gitlab.requests.find((r) => r.method === 'POST' && r.path.endsWith(`/jobs/${d.jobId}/play`))!;
    expect(play.actingUser?.username).toBe('alice');
    world.gitlab.finishJob(d.jobId, 'success');
    await waitFor(() => /Deployed/.test(world.slack.message(CHANNEL, card.ts)?.text ?? ''), { what: 'succeeded card' });
  });

  it('posts nothing for a plain manual job (blocked, but no approval needed)', async () => {
    world.gitlab.protectEnvironment(world.project.id, 'staging', {});
    const d = deploy({ environment: 'staging', manual: true });
    await world.gitlab.webhooksIdle();
    // this deployment was looked at (not only some earlier one), and nothing it led to is still to run
    await waitFor(() => app.logs.find('deployment synced').some((l) => l.deploymentId === d.id), {
      what: 'the manual job synced',
    });
    await appIdle(app);
    expect(world.slack.messages(CHANNEL).some((m) => m.metadata?.event_payload?.deployment_id === d.id)).toBe(false);
  });

  it('makes one card from duplicate deliveries and a burst of events about one deployment', async () => {
    const d = deploy();
    await cardFor(d.id);
    await world.gitlab.webhooksIdle();
    const mine = world.gitlab.deliveries
      .map((x, i) => [x, i] as const)
      .filter(([x]) => JSON.stringify(x.payload).includes(`"deployment_id":${d.id}`));
    for (const [, index] of mine) world.gitlab.redeliver(index);
    for (const [, index] of mine) world.gitlab.redeliver(index);
    await world.gitlab.webhooksIdle();
    await waitFor(
      async () =>
        (await app.app.queues.sync.getWaitingCount()) === 0 && (await app.app.queues.sync.getActiveCount()) === 0,
      { what: 'syncs drained' },
    );
    expect(world.slack.messages(CHANNEL).filter((m) => m.metadata?.event_payload?.deployment_id === d.id)).toHaveLength(
      1,
    );
    expect(
      world.slack.callsTo('chat.postMessage').filter((c) => JSON.stringify(c.args).includes(`"deployment_id":${d.id}`)),
    ).toHaveLength(1);
  });
});
