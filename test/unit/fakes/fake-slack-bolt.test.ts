import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver } from '@slack/bolt';
import type { BlockAction, ButtonAction } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ButtonNotFoundError, quietSlackLogger, startFakeSlack } from '../../fakes/fake-slack.ts';
import type { FakeSlack, SigningMode } from '../../fakes/fake-slack.ts';
import { waitFor } from '../../helpers/wait.ts';

const CHANNEL = 'C0123DEPLOY';
const ALICE = 'U0456ALICE';

const card = (version: number) => [
  { type: 'section', block_id: 'dep-4711-f', text: { type: 'mrkdwn', text: '*web-app* -> production' } },
  {
    type: 'actions',
    block_id: `dep-4711-a-v${version}`,
    elements: [
      {
        type: 'button',
        action_id: 'deploy_approve',
        style: 'primary',
        text: { type: 'plain_text', text: 'Approve' },
        value: '{"d":4711,"v":1}',
      },
      {
        type: 'button',
        action_id: 'deploy_reject',
        style: 'danger',
        text: { type: 'plain_text', text: 'Reject' },
        value: '{"d":4711,"v":1}',
      },
    ],
  },
];

const rejectModal = (privateMetadata: string) => ({
  type: 'modal' as const,
  callback_id: 'deploy_reject_modal',
  private_metadata: privateMetadata,
  title: { type: 'plain_text' as const, text: 'Reject deployment' },
  submit: { type: 'plain_text' as const, text: 'Reject' },
  blocks: [
    {
      type: 'input',
      block_id: 'reason',
      label: { type: 'plain_text' as const, text: 'Reason' },
      element: { type: 'plain_text_input' as const, action_id: 'reason_input', min_length: 5 },
    },
  ],
});

/** What the tiny app saw, so tests can assert on Bolt's view of the fake's requests. */
interface Seen {
  commands: { text: string; userId: string }[];
  actions: BlockAction[];
  retryNums: (number | undefined)[];
}

let slack: FakeSlack;
let app: App;
let appUrl: string;
let seen: Seen;

async function startTinyApp(fake: FakeSlack): Promise<void> {
  seen = { commands: [], actions: [], retryNums: [] };
  const logger = quietSlackLogger();
  const receiver = new ExpressReceiver({ signingSecret: fake.signingSecret, logger });
  app = new App({
    token: fake.botToken,
    receiver,
    logger,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
  });
  app.command('/deploys', async ({ ack, command }) => {
    seen.commands.push({ text: command.text, userId: command.user_id });
    await ack({
      text: '1 pending deployment',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*web-app* -> production' } },
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'deploys_refresh', text: { type: 'plain_text', text: 'Refresh' } }],
        },
      ],
    });
  });
  app.action<BlockAction<ButtonAction>>('deploys_refresh', async ({ ack, respond, body }) => {
    seen.actions.push(body);
    await ack();
    await respond({ replace_original: true, text: '0 pending deployments' });
  });
  app.action<BlockAction<ButtonAction>>('deploy_approve', async ({ ack, body, client }) => {
    seen.actions.push(body);
    await ack();
    await client.chat.update({
      channel: body.channel!.id,
      ts: body.message!.ts,
      text: `Approved by <@${body.user.id}>`,
      blocks: [],
    });
  });
  app.action<BlockAction<ButtonAction>>('deploy_reject', async ({ ack, body, client }) => {
    seen.actions.push(body);
    await ack();
    const meta = JSON.stringify({ c: body.channel!.id, ts: body.message!.ts });
    await client.views.open({ trigger_id: body.trigger_id, view: rejectModal(meta) });
  });
  app.view('deploy_reject_modal', async ({ ack, view, client }) => {
    const reason = view.state.values.reason?.reason_input?.value ?? '';
    if (reason.includes('nope')) {
      await ack({ response_action: 'errors', errors: { reason: 'Give a real reason' } });
      return;
    }
    await ack();
    const meta = JSON.parse(view.private_metadata) as { c: string; ts: string };
    await client.chat.update({ channel: meta.c, ts: meta.ts, text: `Rejected: ${reason}`, blocks: [] });
  });
  app.event('app_home_opened', async ({ event, client, context }) => {
    seen.retryNums.push(context.retryNum);
    await client.views.publish({
      user_id: event.user,
      view: {
        type: 'home',
        callback_id: 'home_pending',
        blocks: [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: 'web-app -> production' },
            accessory: {
              type: 'button',
              action_id: 'home_open',
              text: { type: 'plain_text', text: 'Open' },
              value: '4711',
            },
          },
        ],
      },
    });
  });
  app.action<BlockAction<ButtonAction>>('home_open', async ({ ack, body, respond }) => {
    seen.actions.push({ ...body, respondWasDefined: respond !== undefined } as BlockAction);
    await ack();
  });
  const server = (await app.start(0)) as { address(): AddressInfo | string | null };
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function postCard(): Promise<string> {
  const posted = await app.client.chat.postMessage({ channel: CHANNEL, text: 'Approval needed', blocks: card(1) });
  return posted.ts!;
}

beforeEach(async () => {
  slack = await startFakeSlack();
  slack.addUser({ id: ALICE, name: 'alice', email: 'alice@example.com' });
  slack.addChannel({ id: CHANNEL, name: 'deployments', botIsMember: true });
  await startTinyApp(slack);
});

afterEach(async () => {
  await app.stop();
  await slack.close();
});

describe('driving a real Bolt 5 app', () => {
  it('verifies auth.test at start-up against the fake', async () => {
    await slack.waitForCall('auth.test');
    expect(slack.unexpected()).toEqual([]);
  });

  it('sends a signed slash command exactly as §2a and records the ack as the user’s ephemeral reply', async () => {
    const result = await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL, text: 'pending production' });
    expect(result.status).toBe(200);
    expect(result.timedOut).toBe(false);
    expect(result.elapsedMs).toBeLessThan(3000);
    expect(result.json).toMatchObject({ text: '1 pending deployment' });
    expect(seen.commands).toEqual([{ text: 'pending production', userId: ALICE }]);
    const [reply] = slack.ephemerals({ user: ALICE, channel: CHANNEL });
    expect(reply).toMatchObject({ via: 'command_ack', text: '1 pending deployment' });

    // A button in the ephemeral reply: respond({ replace_original }) replaces that reply.
    const click = await slack.clickEphemeralButton(appUrl, { userId: ALICE, actionId: 'deploys_refresh' });
    expect(click.status).toBe(200);
    expect(click.payload).toMatchObject({ container: { type: 'message', is_ephemeral: true, channel_id: CHANNEL } });
    expect(click.payload).not.toHaveProperty('message');
    await waitFor(() => slack.responses(click.responseUrl).length === 1, {
      what: 'respond() to reach the response_url',
    });
    expect(slack.responses(click.responseUrl)[0]).toMatchObject({ status: 200, effect: 'replaced' });
    expect(slack.ephemerals({ user: ALICE }).map((e) => e.text)).toEqual(['0 pending deployments']);
  });

  it(
    'clicks a button on the stored card; the payload carries ' +
      'the current blocks; a removed button cannot be clicked',
    async () => {
      const ts = await postCard();
      const result = await slack.clickButton(appUrl, {
        userId: ALICE,
        channel: CHANNEL,
        ts,
        actionId: 'deploy_approve',
      });
      expect(result.status).toBe(200);
      expect(result.body).toBe('');
      const action = seen.actions[0]!;
      expect(action.actions[0]).toMatchObject({
        action_id: 'deploy_approve',
        block_id: 'dep-4711-a-v1',
        value: '{"d":4711,"v":1}',
      });
      expect(action.message?.blocks).toEqual(slack.message(CHANNEL, ts)?.history[0]?.blocks);
      expect(action.channel).toEqual({ id: CHANNEL, name: 'deployments' });
      expect(action.response_url).toMatch(new RegExp(`^${slack.url}/hooks/response/`));

      await slack.waitForCall('chat.update');
      expect(slack.message(CHANNEL, ts)).toMatchObject({ text: `Approved by <@${ALICE}>`, blocks: [] });
      await expect(
        slack.clickButton(appUrl, { userId: ALICE, channel: CHANNEL, ts, actionId: 'deploy_approve' }),
      ).rejects.toThrow(ButtonNotFoundError);
    },
  );

  it('opens the reject modal with the click’s trigger_id and submits it (errors, then close)', async () => {
    const ts = await postCard();
    await slack.clickButton(appUrl, { userId: ALICE, channel: CHANNEL, ts, actionId: 'deploy_reject' });
    await slack.waitForCall('views.open', (c) => c.response.status === 200);
    expect(slack.callsTo('views.open')[0]?.response.body).toMatchObject({ ok: true });
    const modal = slack.lastView(ALICE)!;
    expect(modal).toMatchObject({ open: true, view: { callback_id: 'deploy_reject_modal' } });

    await expect(
      slack.submitView(appUrl, { userId: ALICE, values: { reason: { reason_input: 'no' } } }),
    ).rejects.toThrow(/at least 5/);
    const refused = await slack.submitView(appUrl, {
      userId: ALICE,
      values: { reason: { reason_input: 'nope nope' } },
    });
    expect(refused).toMatchObject({
      status: 200,
      outcome: 'errors',
      ack: { response_action: 'errors', errors: { reason: 'Give a real reason' } },
    });
    expect(slack.view(modal.view.id as string)?.open).toBe(true);

    const accepted = await slack.submitView(appUrl, {
      userId: ALICE,
      values: { reason: { reason_input: 'Smoke tests failing' } },
    });
    expect(accepted).toMatchObject({ status: 200, outcome: 'closed', body: '' });
    expect(accepted.payload).toMatchObject({
      type: 'view_submission',
      view: {
        id: modal.view.id,
        state: { values: { reason: { reason_input: { type: 'plain_text_input', value: 'Smoke tests failing' } } } },
      },
    });
    expect(slack.view(modal.view.id as string)?.open).toBe(false);
    await slack.waitForCall('chat.update');
    expect(slack.message(CHANNEL, ts)?.text).toBe('Rejected: Smoke tests failing');
  });

  it('delivers events, retries with X-Slack-Retry-Num, and clicks on the published Home tab', async () => {
    const first = await slack.openHome(appUrl, ALICE);
    expect(first.status).toBe(200);
    await slack.waitForCall('views.publish');
    expect(slack.homeView(ALICE)?.view).toMatchObject({ type: 'home', callback_id: 'home_pending' });
    await slack.sendEvent(appUrl, first.envelope.event as Record<string, unknown>, {
      eventId: first.eventId,
      retryNum: 1,
      retryReason: 'http_timeout',
    });
    await waitFor(() => seen.retryNums.length === 2, { what: 'the retried event' });
    expect(seen.retryNums).toEqual([undefined, 1]);

    const click = await slack.clickHomeButton(appUrl, { userId: ALICE, actionId: 'home_open' });
    expect(click.status).toBe(200);
    const body = seen.actions.at(-1) as BlockAction & { respondWasDefined: boolean };
    expect(body.container).toMatchObject({ type: 'view', view_id: slack.homeView(ALICE)?.view.id });
    expect(body).not.toHaveProperty('channel');
    expect(body).not.toHaveProperty('response_url');
    expect(body.respondWasDefined).toBe(false);
    expect(body.actions[0]).toMatchObject({ action_id: 'home_open', value: '4711' });
  });

  it.each<SigningMode>(['wrong-secret', 'stale-timestamp', 'missing-headers', 'missing-signature', 'tampered-body'])(
    'Bolt answers 401 and runs no listener for a %s request',
    async (signing) => {
      const result = await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL }, { signing });
      expect(result.status).toBe(401);
      expect(seen.commands).toEqual([]);
      expect(slack.ephemerals()).toEqual([]);
    },
  );

  it('answers 401 for a signed event with a stale timestamp too', async () => {
    const result = await slack.openHome(appUrl, ALICE, { signing: 'stale-timestamp' });
    expect(result.status).toBe(401);
    expect(slack.callsTo('views.publish')).toEqual([]);
  });
});
