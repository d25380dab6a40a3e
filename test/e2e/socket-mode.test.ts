import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOCKET_MODE } from '../fakes/fake-slack.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Button = { action_id: string };
const buttonsOf = (blocks: Array<Record<string, unknown>>): Button[] =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);

describe('Socket Mode (SLACK_APP_TOKEN): Slack over a WebSocket, GitLab still over HTTP', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    const { SLACK_SIGNING_SECRET: _unused, ...env } = world.env;
    app = await startTestApp({ env: { ...env, SLACK_APP_TOKEN: world.slack.appToken }, name: 'e2e-socket' });
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

  it('connects with the app-level token and serves no public Slack endpoint', async () => {
    expect(world.slack.socketMode.connections()).toBe(1);
    const open = world.slack.callsTo('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]!.token).toBe(world.slack.appToken);
    const http = await fetch(`${app.url}/slack/events`, {
      method: 'POST',
      body: 'payload=%7B%7D',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(http.status).toBe(404);
    expect(app.logs.find('greenlight web listening')[0]).toMatchObject({ slack: 'socket' });
  });

  it('posts a card from the GitLab webhook and records an approval clicked over the socket', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      { what: 'card' },
    );
    const click = await world.slack.clickButton(SOCKET_MODE, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    expect(click.status).toBe(200);
    expect(click.timedOut).toBe(false);
    const envelope = world.slack.socketMode.envelopes().at(-1)!;
    expect(envelope).toMatchObject({ type: 'interactive', payload: { type: 'block_actions' } });
    expect(envelope.ack).toBeDefined();
    await waitFor(() => world.gitlab.approvalCalls().find((c) => c.path.includes(`/deployments/${d.id}/`)), {
      what: 'approval',
    });
    expect(world.gitlab.approvalCalls().at(-1)!.actingUser?.username).toBe('alice');
    await waitFor(
      () => buttonsOf(world.slack.message(CHANNEL, card.ts)!.blocks).every((b) => b.action_id !== 'deploy_approve'),
      { what: 'card without Approve' },
    );
  });

  it('carries ack payloads back: modal validation errors and the slash command reply', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      { what: 'card' },
    );
    await world.slack.clickButton(SOCKET_MODE, {
      userId: world.slackIds.carol,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_reject',
    });
    await waitFor(() => world.slack.lastView(world.slackIds.carol)?.open, { what: 'reject modal' });
    const tooShort = await world.slack.submitView(SOCKET_MODE, {
      userId: world.slackIds.carol,
      values: { reason: { reason_input: 'no' } },
      bypassClientValidation: true,
    });
    expect(tooShort.outcome).toBe('errors');
    const submitted = await world.slack.submitView(SOCKET_MODE, {
      userId: world.slackIds.carol,
      values: { reason: { reason_input: 'Smoke tests fail' } },
    });
    expect(submitted.status).toBe(200);
    await waitFor(() => world.gitlab.getDeployment(d.id)?.status === 'failed', { what: 'rejected in GitLab' });

    const help = await world.slack.sendCommand(SOCKET_MODE, {
      userId: world.slackIds.alice,
      channelId: CHANNEL,
      text: 'help',
    });
    expect(help.replyError).toBeUndefined();
    expect(world.slack.socketMode.envelopes().at(-1)).toMatchObject({
      type: 'slash_commands',
      payload: { command: '/deploys', text: 'help' },
    });
    await waitFor(
      () => world.slack.ephemerals({ user: world.slackIds.alice }).some((e) => /\/deploys/.test(e.text ?? '')),
      { what: 'help reply' },
    );
  });
});
