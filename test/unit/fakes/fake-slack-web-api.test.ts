import { ErrorCode, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quietSlackLogger, startFakeSlack } from '../../fakes/fake-slack.ts';
import type { FakeSlack } from '../../fakes/fake-slack.ts';

const CHANNEL = 'C0123DEPLOY';
const ALICE = 'U0456ALICE';

const approvalBlocks = [
  {
    type: 'header',
    block_id: 'dep-4711-h',
    text: { type: 'plain_text', text: 'Approval needed: web-app -> production' },
  },
  { type: 'section', block_id: 'dep-4711-f', fields: [{ type: 'mrkdwn', text: '*Environment*\nproduction' }] },
  {
    type: 'actions',
    block_id: 'dep-4711-a-v1',
    elements: [
      {
        type: 'button',
        action_id: 'deploy_approve',
        style: 'primary',
        text: { type: 'plain_text', text: 'Approve' },
        value: '{"d":4711}',
      },
      {
        type: 'button',
        action_id: 'deploy_reject',
        style: 'danger',
        text: { type: 'plain_text', text: 'Reject' },
        value: '{"d":4711}',
      },
    ],
  },
];

const rejectModal = {
  type: 'modal' as const,
  callback_id: 'deploy_reject_modal',
  private_metadata: '{"d":4711}',
  title: { type: 'plain_text' as const, text: 'Reject deployment' },
  submit: { type: 'plain_text' as const, text: 'Reject' },
  blocks: [
    {
      type: 'input',
      block_id: 'reason',
      label: { type: 'plain_text', text: 'Reason' },
      element: { type: 'plain_text_input', action_id: 'reason_input', min_length: 5 },
    },
  ],
};

let slack: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  slack = await startFakeSlack();
  slack.addUser({ id: ALICE, name: 'alice', realName: 'Alice Doe', email: 'alice@example.com' });
  slack.addChannel({ id: CHANNEL, name: 'deployments', botIsMember: true });
  client = new WebClient(slack.botToken, {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    logger: quietSlackLogger(),
  });
});

afterEach(async () => {
  await slack.close();
});

async function platformError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  return (error as WebAPIPlatformError).data.error;
}

describe('Web API wire format and auth', () => {
  it('answers auth.test as Bolt expects, with the scopes header', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({ ok: true, user_id: 'U0BOTUSER', bot_id: 'B0BOT0001', team_id: 'T0001ABCD' });
    expect(result.response_metadata?.scopes).toContain('chat:write');
  });

  it('rejects a wrong token with invalid_auth and records it as unexpected', async () => {
    const stranger = new WebClient('xoxb-wrong', {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietSlackLogger(),
    });
    expect(await platformError(stranger.auth.test())).toBe('invalid_auth');
    expect(slack.unexpected()).toEqual([expect.objectContaining({ method: 'auth.test', reason: 'invalid_auth' })]);
  });

  it('answers not_authed without a token, and unknown_method for methods it does not know', async () => {
    const anonymous = new WebClient(undefined, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietSlackLogger(),
    });
    expect(await platformError(anonymous.auth.test())).toBe('not_authed');
    expect(await platformError(client.apiCall('pins.add', { channel: CHANNEL }))).toBe('unknown_method');
    expect(slack.unexpected().map((u) => u.reason)).toEqual(['not_authed', 'unknown_method']);
  });

  it('logs decoded arguments: JSON form fields become objects, the token is kept apart', async () => {
    await client.chat.postMessage({ channel: CHANNEL, text: 'hi', blocks: approvalBlocks, unfurl_links: false });
    const [call] = slack.callsTo('chat.postMessage');
    expect(call?.token).toBe(slack.botToken);
    expect(call?.args).toMatchObject({ channel: CHANNEL, text: 'hi', unfurl_links: 'false', blocks: approvalBlocks });
    expect(call?.response.status).toBe(200);
  });

  it('accepts application/json bodies with a Bearer token', async () => {
    const response = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${slack.botToken}` },
      body: JSON.stringify({ channel: CHANNEL, text: 'json body', blocks: approvalBlocks }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-oauth-scopes')).toContain('chat:write');
    expect(await response.json()).toMatchObject({ ok: true, channel: CHANNEL });
    expect(slack.messages(CHANNEL)[0]?.text).toBe('json body');
  });
});

describe('chat.postMessage / chat.update', () => {
  it('stores posts with strictly increasing ts and realistic success shapes', async () => {
    const first = await client.chat.postMessage({ channel: CHANNEL, text: 'Approval needed', blocks: approvalBlocks });
    const second = await client.chat.postMessage({ channel: CHANNEL, text: 'second' });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(first.message).toMatchObject({
      type: 'message',
      user: 'U0BOTUSER',
      bot_id: 'B0BOT0001',
      app_id: 'A0789DGATE',
      ts: first.ts,
    });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['Approval needed', 'second']);
    // Slack normalises stored blocks: compare with toMatchObject.
    expect(slack.message(CHANNEL, first.ts!)?.blocks).toMatchObject(approvalBlocks);
    expect(slack.message(CHANNEL, first.ts!)?.blocks[0]).toMatchObject({ text: { emoji: true } });
  });

  it(
    'fails like Slack for unknown, private, public-without-scope ' + 'and archived channels, and empty messages',
    async () => {
      slack.addChannel({ id: 'G0SECRET', name: 'secret', isPrivate: true });
      slack.addChannel({ id: 'C0PUBLIC', name: 'public' });
      slack.addChannel({ id: 'C0OLD', name: 'old', botIsMember: true, isArchived: true });
      expect(await platformError(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).toBe('channel_not_found');
      expect(await platformError(client.chat.postMessage({ channel: 'G0SECRET', text: 'x' }))).toBe(
        'channel_not_found',
      );
      expect(await platformError(client.chat.postMessage({ channel: 'C0OLD', text: 'x' }))).toBe('is_archived');
      expect(await platformError(client.chat.postMessage({ channel: CHANNEL, text: '' }))).toBe('no_text');
      await client.chat.postMessage({ channel: 'C0PUBLIC', text: 'allowed by chat:write.public' });
      slack.setScopes(['chat:write']);
      expect(await platformError(client.chat.postMessage({ channel: 'C0PUBLIC', text: 'x' }))).toBe('not_in_channel');
      slack.setScopes(['commands']);
      const error = await client.chat.postMessage({ channel: CHANNEL, text: 'x' }).catch((e: unknown) => e);
      expect((error as WebAPIPlatformError).data).toMatchObject({
        error: 'missing_scope',
        needed: 'chat:write',
        provided: 'commands',
      });
    },
  );

  it('validates Block Kit limits with invalid_blocks and Slack-style messages', async () => {
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    const longButton = [
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'x'.repeat(76) } }],
      },
    ];
    const badCases: unknown[][] = [
      tooMany,
      longButton,
      [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }],
      [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }],
      [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }],
      [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }],
      [
        {
          type: 'actions',
          elements: Array.from({ length: 26 }, (_, i) => ({
            type: 'button',
            action_id: `b${i}`,
            text: { type: 'plain_text', text: 'b' },
          })),
        },
      ],
      [
        {
          type: 'actions',
          block_id: 'x'.repeat(256),
          elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'b' } }],
        },
      ],
      [
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'b' }, value: 'v'.repeat(2001) },
          ],
        },
      ],
      [
        { type: 'section', block_id: 'same', text: { type: 'mrkdwn', text: 'a' } },
        { type: 'divider', block_id: 'same' },
      ],
      [{ type: 'banner' }],
    ];
    for (const blocks of badCases) {
      const error = await client.chat
        .postMessage({ channel: CHANNEL, text: 'x', blocks: blocks as never })
        .catch((e: unknown) => e);
      expect((error as WebAPIPlatformError).data.error, JSON.stringify(blocks).slice(0, 80)).toBe('invalid_blocks');
    }
    const error = await client.chat
      .postMessage({ channel: CHANNEL, text: 'x', blocks: longButton as never })
      .catch((e: unknown) => e);
    expect((error as WebAPIPlatformError).data.response_metadata?.messages).toEqual([
      '[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]',
    ]);
    expect(
      await platformError(client.apiCall('chat.postMessage', { channel: CHANNEL, text: 'x', blocks: 'not json' })),
    ).toBe('invalid_blocks_format');
    expect(await platformError(client.chat.postMessage({ channel: CHANNEL, text: 'x'.repeat(40_001) }))).toBe(
      'msg_too_long',
    );
    expect(slack.messages(CHANNEL)).toEqual([]);
  });

  it('threads replies, broadcasts, and keeps metadata for include_all_metadata', async () => {
    slack.setScopes([...slack.scopes, 'channels:read']);
    const card = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'card',
      metadata: { event_type: 'deployment_card', event_payload: { deployment_id: 4711 } },
    });
    await client.chat.postMessage({ channel: CHANNEL, thread_ts: card.ts!, text: 'reminder 1' });
    await client.chat.postMessage({ channel: CHANNEL, thread_ts: card.ts!, text: 'reminder 2', reply_broadcast: true });
    expect(slack.thread(CHANNEL, card.ts!).map((m) => m.text)).toEqual(['reminder 1', 'reminder 2']);
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['card', 'reminder 2']);
    expect(await platformError(client.chat.postMessage({ channel: CHANNEL, thread_ts: '1.000000', text: 'x' }))).toBe(
      'thread_not_found',
    );

    const plain = await client.conversations.history({ channel: CHANNEL });
    expect(plain.messages?.map((m) => m.text)).toEqual(['reminder 2', 'card']);
    expect(plain.messages?.[1]).not.toHaveProperty('metadata');
    const withMetadata = await client.conversations.history({
      channel: CHANNEL,
      include_all_metadata: true,
      limit: 1,
      oldest: '0',
    });
    expect(withMetadata.has_more).toBe(true);
    const next = await client.conversations.history({
      channel: CHANNEL,
      include_all_metadata: true,
      limit: 1,
      cursor: withMetadata.response_metadata!.next_cursor!,
    });
    expect(next.messages?.[0]).toMatchObject({
      text: 'card',
      reply_count: 2,
      metadata: { event_type: 'deployment_card' },
    });
    const replies = await client.conversations.replies({ channel: CHANNEL, ts: card.ts! });
    expect(replies.messages?.map((m) => m.text)).toEqual(['card', 'reminder 1', 'reminder 2']);
    expect((await client.conversations.info({ channel: CHANNEL })).channel).toMatchObject({
      id: CHANNEL,
      name: 'deployments',
      is_member: true,
    });
  });

  it('updates keep omitted blocks, [] removes them, and only the bot’s own messages can be updated', async () => {
    const card = await client.chat.postMessage({ channel: CHANNEL, text: 'Approval needed', blocks: approvalBlocks });
    const updated = await client.chat.update({ channel: CHANNEL, ts: card.ts!, text: 'Processing…' });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts: card.ts, text: 'Processing…' });
    expect(slack.message(CHANNEL, card.ts!)?.blocks).toHaveLength(3);
    await client.chat.update({ channel: CHANNEL, ts: card.ts!, text: 'Approved by alice', blocks: [] });
    const stored = slack.message(CHANNEL, card.ts!)!;
    expect(stored.blocks).toEqual([]);
    expect(stored.history.map((h) => [h.via, h.text])).toEqual([
      ['chat.postMessage', 'Approval needed'],
      ['chat.update', 'Processing…'],
      ['chat.update', 'Approved by alice'],
    ]);
    expect(await platformError(client.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' }))).toBe(
      'message_not_found',
    );
    const human = slack.postAsUser({ channel: CHANNEL, user: ALICE, text: 'lgtm' });
    expect(await platformError(client.chat.update({ channel: CHANNEL, ts: human, text: 'x' }))).toBe(
      'cant_update_message',
    );
    expect(await platformError(client.chat.update({ channel: CHANNEL, ts: card.ts!, text: 'x'.repeat(4001) }))).toBe(
      'msg_too_long',
    );
    await client.chat.delete({ channel: CHANNEL, ts: card.ts! });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['lgtm']);
    expect(await platformError(client.chat.update({ channel: CHANNEL, ts: card.ts!, text: 'x' }))).toBe(
      'message_not_found',
    );
  });

  it('stores ephemerals per user and channel and checks membership', async () => {
    slack.addUser({ id: 'U0789BOB', name: 'bob' });
    slack.addChannel({ id: 'C0SMALL', name: 'small', botIsMember: true, members: [ALICE] });
    const result = await client.chat.postEphemeral({ channel: 'C0SMALL', user: ALICE, text: 'only you' });
    expect(result.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(await platformError(client.chat.postEphemeral({ channel: 'C0SMALL', user: 'U0789BOB', text: 'x' }))).toBe(
      'user_not_in_channel',
    );
    expect(slack.ephemerals({ user: ALICE })).toEqual([
      expect.objectContaining({ channel: 'C0SMALL', ts: result.message_ts, text: 'only you' }),
    ]);
    expect(slack.ephemerals({ channel: CHANNEL })).toEqual([]);
  });
});

describe('users and conversations', () => {
  it('looks users up, shows email only with users:read.email, and opens stable DMs', async () => {
    expect((await client.users.info({ user: ALICE })).user).toMatchObject({
      id: ALICE,
      name: 'alice',
      real_name: 'Alice Doe',
      profile: { email: 'alice@example.com' },
    });
    expect((await client.users.lookupByEmail({ email: 'ALICE@example.com' })).user?.id).toBe(ALICE);
    expect(await platformError(client.users.lookupByEmail({ email: 'nobody@example.com' }))).toBe('users_not_found');
    expect(await platformError(client.users.info({ user: 'U0NOBODY' }))).toBe('user_not_found');
    slack.setScopes(slack.scopes.filter((s) => s !== 'users:read.email'));
    expect((await client.users.info({ user: ALICE })).user?.profile).not.toHaveProperty('email');

    const dm = await client.conversations.open({ users: ALICE });
    const again = await client.conversations.open({ users: ALICE });
    expect(dm.channel?.id).toMatch(/^D/);
    expect(again.channel?.id).toBe(dm.channel?.id);
    await client.chat.postMessage({ channel: dm.channel!.id!, text: 'please approve' });
    await client.chat.postMessage({ channel: ALICE, text: 'posted to the user id' });
    expect(slack.dms(ALICE).map((m) => m.text)).toEqual(['please approve', 'posted to the user id']);
    expect(await platformError(client.chat.update({ channel: ALICE, ts: slack.dms(ALICE)[0]!.ts, text: 'x' }))).toBe(
      'channel_not_found',
    );
  });
});

describe('views', () => {
  it('opens a modal with a fresh trigger_id exactly once', async () => {
    const trigger = slack.issueTriggerId(ALICE);
    const opened = await client.views.open({ trigger_id: trigger, view: rejectModal });
    expect(opened.view).toMatchObject({
      type: 'modal',
      callback_id: 'deploy_reject_modal',
      private_metadata: '{"d":4711}',
      state: { values: {} },
    });
    expect(opened.view?.id).toMatch(/^V/);
    expect(slack.lastView(ALICE)?.view.id).toBe(opened.view?.id);
    expect(await platformError(client.views.open({ trigger_id: trigger, view: rejectModal }))).toBe(
      'exchanged_trigger_id',
    );
    expect(await platformError(client.views.open({ trigger_id: '123.456.abc', view: rejectModal }))).toBe(
      'invalid_trigger_id',
    );
  });

  it('expires trigger_ids after 3 seconds', async () => {
    const trigger = slack.issueTriggerId(ALICE);
    slack.advanceClock(3001);
    expect(await platformError(client.views.open({ trigger_id: trigger, view: rejectModal }))).toBe(
      'expired_trigger_id',
    );
    const fresh = slack.issueTriggerId(ALICE);
    slack.advanceClock(2900);
    await client.views.open({ trigger_id: fresh, view: rejectModal });
  });

  it('validates modal limits and keeps the trigger usable when the view is rejected', async () => {
    const trigger = slack.issueTriggerId(ALICE);
    const longTitle = { ...rejectModal, title: { type: 'plain_text' as const, text: 'Reject this deployment now' } };
    const error = await client.views.open({ trigger_id: trigger, view: longTitle }).catch((e: unknown) => e);
    expect((error as WebAPIPlatformError).data).toMatchObject({
      error: 'invalid_arguments',
      response_metadata: { messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'] },
    });
    expect(
      await platformError(
        client.views.open({ trigger_id: trigger, view: { ...rejectModal, private_metadata: 'x'.repeat(3001) } }),
      ),
    ).toBe('invalid_arguments');
    const huge = {
      ...rejectModal,
      blocks: Array.from({ length: 100 }, () => ({
        type: 'section',
        text: { type: 'mrkdwn', text: 'x'.repeat(2999) },
      })),
    };
    expect(await platformError(client.views.open({ trigger_id: trigger, view: huge }))).toBe('view_too_large');
    await client.views.open({ trigger_id: trigger, view: rejectModal });
  });

  it('updates by view_id with hash checks, pushes, and publishes Home tabs', async () => {
    const opened = await client.views.open({ trigger_id: slack.issueTriggerId(ALICE), view: rejectModal });
    const viewId = opened.view!.id!;
    const updated = await client.views.update({
      view_id: viewId,
      hash: opened.view!.hash!,
      view: { ...rejectModal, callback_id: 'v2' },
    });
    expect(updated.view).toMatchObject({ id: viewId, callback_id: 'v2' });
    expect(
      await platformError(client.views.update({ view_id: viewId, hash: opened.view!.hash!, view: rejectModal })),
    ).toBe('hash_conflict');
    const pushed = await client.views.push({
      trigger_id: slack.issueTriggerId(ALICE),
      view: { ...rejectModal, callback_id: 'pushed' },
    });
    expect(pushed.view).toMatchObject({ previous_view_id: viewId, root_view_id: viewId });

    const home = {
      type: 'home' as const,
      callback_id: 'home_pending',
      blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Pending approvals (0)' } }],
    };
    const published = await client.views.publish({ user_id: ALICE, view: home });
    expect(slack.homeView(ALICE)?.view).toMatchObject({ type: 'home', callback_id: 'home_pending' });
    expect(await platformError(client.views.publish({ user_id: ALICE, hash: 'stale', view: home }))).toBe(
      'hash_conflict',
    );
    await client.views.publish({ user_id: ALICE, hash: published.view!.hash!, view: home });
    const tooBig = { ...home, blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) };
    expect(await platformError(client.views.publish({ user_id: ALICE, view: tooBig }))).toBe('invalid_arguments');
  });
});

describe('failure injection and rate limits', () => {
  it('injects ok:false errors as WebAPIPlatformError, then behaves normally again', async () => {
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    expect(await platformError(client.chat.postMessage({ channel: CHANNEL, text: 'x' }))).toBe('channel_not_found');
    await client.chat.postMessage({ channel: CHANNEL, text: 'now it works' });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['now it works']);
  });

  it('answers an injected 429 with Retry-After, which WebClient turns into WebAPIRateLimitedError', async () => {
    const strict = new WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: quietSlackLogger(),
    });
    slack.failNext('chat.update', { status: 429, retryAfter: 7 });
    const error = await strict.chat.update({ channel: CHANNEL, ts: '1.000000', text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).code).toBe(ErrorCode.RateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(slack.rateLimited()).toEqual([
      expect.objectContaining({ method: 'chat.update', response: expect.objectContaining({ status: 429 }) }),
    ]);
  });

  it('injects HTTP 500 (WebAPIHTTPError with retries: 0) and latency', async () => {
    slack.failNext('users.info', { status: 500 });
    const error = await client.users.info({ user: ALICE }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe(ErrorCode.HTTPError);
    slack.setLatency('users.info', 150);
    const started = Date.now();
    await client.users.info({ user: ALICE });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('paces chat.postMessage at one message per second per channel with a real 429', async () => {
    slack.addChannel({ id: 'C0OTHER', name: 'other', botIsMember: true });
    slack.setPostMessagePace({ perChannelPerSecond: 1 });
    const strict = new WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: quietSlackLogger(),
    });
    await strict.chat.postMessage({ channel: CHANNEL, text: 'first' });
    const error = await strict.chat.postMessage({ channel: CHANNEL, text: 'second' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(1);
    await strict.chat.postMessage({ channel: 'C0OTHER', text: 'another channel is fine' });
    expect(slack.rateLimited().map((c) => c.args.text)).toEqual(['second']);
    slack.advanceClock(1000);
    await strict.chat.postMessage({ channel: CHANNEL, text: 'after a second' });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['first', 'after a second']);
  });

  it('allows a short burst when asked, and then holds the channel to its pace', async () => {
    slack.setPostMessagePace({ perChannelPerSecond: 1, burst: 2 });
    const strict = new WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: quietSlackLogger(),
    });
    await strict.chat.postMessage({ channel: CHANNEL, text: 'one' });
    await strict.chat.postMessage({ channel: CHANNEL, text: 'two' });
    const error = await strict.chat.postMessage({ channel: CHANNEL, text: 'three' }).catch((e: unknown) => e);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(1);
    slack.advanceClock(1000);
    await strict.chat.postMessage({ channel: CHANNEL, text: 'a second later' });
    expect(slack.rateLimited().map((c) => c.args.text)).toEqual(['three']);
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['one', 'two', 'a second later']);
  });

  it('lets a default WebClient wait out Retry-After and succeed', async () => {
    slack.setPostMessagePace({ perChannelPerSecond: 1 });
    const patient = new WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 },
      logger: quietSlackLogger(),
    });
    await patient.chat.postMessage({ channel: CHANNEL, text: 'one' });
    await patient.chat.postMessage({ channel: CHANNEL, text: 'two' });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['one', 'two']);
    expect(slack.rateLimited()).toHaveLength(1);
  });

  it('waitForCall resolves for calls made later', async () => {
    const waiting = slack.waitForCall('chat.postMessage', (c) => c.args.text === 'later');
    setTimeout(() => void client.chat.postMessage({ channel: CHANNEL, text: 'later' }), 30);
    expect((await waiting).args.channel).toBe(CHANNEL);
    await expect(slack.waitForCall('chat.delete', undefined, 100)).rejects.toThrow(/chat.delete/);
  });
});
