import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quietSlackLogger, RESPONSE_URL_KEY, startFakeSlack } from '../../fakes/fake-slack.ts';
import type { FakeSlack } from '../../fakes/fake-slack.ts';

const CHANNEL = 'C0123DEPLOY';
const ALICE = 'U0456ALICE';

let slack: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  slack = await startFakeSlack();
  slack.addUser({ id: ALICE, name: 'alice' });
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

/** What Bolt's respond() does: POST JSON to the URL. */
async function respond(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('response_url', () => {
  it('accepts five posts, then answers 404 used_url', async () => {
    const url = slack.issueResponseUrl({ kind: 'command', userId: ALICE, channelId: CHANNEL });
    expect(url).toMatch(new RegExp(`^${slack.url}/hooks/response/`));
    for (let i = 1; i <= 5; i += 1) {
      expect(await respond(url, { text: `reply ${i}` })).toEqual({ status: 200, json: { ok: true } });
    }
    expect(await respond(url, { text: 'reply 6' })).toEqual({ status: 404, json: { ok: false, error: 'used_url' } });
    expect(slack.responses(url).map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404]);
    expect(slack.ephemerals({ user: ALICE })).toHaveLength(5);
  });

  it('expires after 30 minutes and rejects bodies that are not JSON', async () => {
    const url = slack.issueResponseUrl({ kind: 'command', userId: ALICE, channelId: CHANNEL });
    const bad = await fetch(url, {
      method: 'POST',
      body: 'text=hi',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(bad.status).toBe(400);
    slack.advanceClock(30 * 60 * 1000 + 1);
    expect(await respond(url, { text: 'late' })).toEqual({ status: 404, json: { ok: false, error: 'expired_url' } });
  });

  it('replace_original replaces the card it came from; delete_original deletes it', async () => {
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'Approval needed' });
    const url = slack.issueResponseUrl({ kind: 'message', userId: ALICE, channelId: CHANNEL, ts: posted.ts! });
    await respond(url, { replace_original: true, text: 'Processing…' });
    expect(slack.message(CHANNEL, posted.ts!)?.history.map((h) => [h.via, h.text])).toEqual([
      ['chat.postMessage', 'Approval needed'],
      ['response_url', 'Processing…'],
    ]);
    await respond(url, { text: 'Only you can see this' });
    expect(slack.ephemerals({ user: ALICE }).map((e) => e.text)).toEqual(['Only you can see this']);
    await respond(url, { response_type: 'in_channel', text: 'Everyone sees this' });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['Processing…', 'Everyone sees this']);
    await respond(url, { delete_original: true });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['Everyone sees this']);
    expect(slack.responses(url).map((r) => r.effect)).toEqual(['replaced', 'ephemeral', 'in_channel', 'deleted']);
  });

  it('for slash commands, replace_original replaces the previous ephemeral reply', async () => {
    const url = slack.issueResponseUrl({ kind: 'command', userId: ALICE, channelId: CHANNEL });
    await respond(url, { text: 'Loading…' });
    await respond(url, { replace_original: true, text: '2 pending deployments' });
    expect(slack.ephemerals({ user: ALICE }).map((e) => e.text)).toEqual(['2 pending deployments']);
  });

  it('validates blocks like chat.postMessage and can be made to fail', async () => {
    const url = slack.issueResponseUrl({ kind: 'command', userId: ALICE, channelId: CHANNEL });
    const invalid = await respond(url, {
      text: 'x',
      blocks: [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }],
    });
    expect(invalid).toEqual({ status: 400, json: { ok: false, error: 'invalid_blocks' } });
    slack.failNext(RESPONSE_URL_KEY, { status: 500 });
    expect((await respond(url, { text: 'x' })).status).toBe(500);
    expect((await respond(url, { text: 'x' })).status).toBe(200);
    expect(await respond(`${slack.url}/hooks/response/unknown`, { text: 'x' })).toEqual({
      status: 404,
      json: { ok: false, error: 'no_service' },
    });
    expect(slack.unexpected()).toEqual([expect.objectContaining({ reason: 'unknown response_url' })]);
  });
});
