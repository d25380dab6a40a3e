import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack } from '../../fakes/fake-slack.ts';
import type { FakeSlack } from '../../fakes/fake-slack.ts';
import { signSlackRequest } from '../../helpers/slack-sign.ts';

const CHANNEL = 'C0123DEPLOY';
const ALICE = 'U0456ALICE';

/** A bare HTTP server standing in for the app, recording exactly what the driver sends. */
interface Captured {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** when it arrived (Date.now()) */
  at: number;
}

let slack: FakeSlack;
let server: Server;
let appUrl: string;
let captured: Captured[];
let testStarted: number;
let answer: { delayMs: number; status: number; body: string; contentType: string };

beforeEach(async () => {
  slack = await startFakeSlack();
  slack.addUser({ id: ALICE, name: 'alice' });
  slack.addChannel({ id: CHANNEL, name: 'deployments', botIsMember: true });
  captured = [];
  testStarted = Date.now();
  answer = { delayMs: 0, status: 200, body: '', contentType: 'text/plain' };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
      });
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': answer.contentType });
        res.end(answer.body);
      }, answer.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await slack.close();
});

function expectValidSignature(request: Captured): void {
  const ts = Number(request.headers['x-slack-request-timestamp']);
  // signed with the time it was sent: during this test, before it arrived
  expect(ts).toBeGreaterThanOrEqual(Math.floor(testStarted / 1000));
  expect(ts).toBeLessThanOrEqual(Math.floor(request.at / 1000));
  expect(request.headers['x-slack-signature']).toBe(signSlackRequest(slack.signingSecret, ts, request.body));
}

describe('the driver’s wire format', () => {
  it('sends a slash command as the §2a form, fields in Slack’s order, with no charset', async () => {
    const result = await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL, text: 'pending production' });
    const [request] = captured;
    expect(request?.path).toBe('/slack/events');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expectValidSignature(request!);
    const form = new URLSearchParams(request!.body);
    expect([...form.keys()]).toEqual([
      'token',
      'team_id',
      'team_domain',
      'channel_id',
      'channel_name',
      'user_id',
      'user_name',
      'command',
      'text',
      'api_app_id',
      'is_enterprise_install',
      'response_url',
      'trigger_id',
    ]);
    expect(Object.fromEntries(form)).toMatchObject({
      team_id: 'T0001ABCD',
      channel_id: CHANNEL,
      channel_name: 'deployments',
      user_id: ALICE,
      user_name: 'alice',
      command: '/deploys',
      text: 'pending production',
      is_enterprise_install: 'false',
      response_url: result.responseUrl,
      trigger_id: result.triggerId,
    });
    expect(request!.body).toContain('text=pending+production');
    expect(result.triggerId).toMatch(/^\d{13}\.\d{13}\.[0-9a-f]{32}$/);
  });

  it('sends events as JSON with retry headers when replaying', async () => {
    const first = await slack.sendEvent(appUrl, { type: 'app_home_opened', user: ALICE, tab: 'home' });
    await slack.sendEvent(appUrl, first.envelope.event as Record<string, unknown>, {
      eventId: first.eventId,
      retryNum: 2,
      retryReason: 'http_error',
    });
    const [original, retry] = captured;
    expect(original?.headers['content-type']).toBe('application/json');
    expect(original?.headers).not.toHaveProperty('x-slack-retry-num');
    expectValidSignature(original!);
    expect(JSON.parse(original!.body)).toMatchObject({
      type: 'event_callback',
      event_id: first.eventId,
      team_id: 'T0001ABCD',
      event: { type: 'app_home_opened' },
    });
    expect(retry?.headers).toMatchObject({ 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_error' });
    expect(JSON.parse(retry!.body).event_id).toBe(first.eventId);
  });

  it('signs deliberately badly when asked', async () => {
    await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL }, { signing: 'stale-timestamp' });
    await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL }, { signing: 'missing-headers' });
    const [stale, missing] = captured;
    const ts = Number(stale!.headers['x-slack-request-timestamp']);
    expect(Math.floor(Date.now() / 1000) - ts).toBeGreaterThanOrEqual(301);
    expect(stale!.headers['x-slack-signature']).toBe(signSlackRequest(slack.signingSecret, ts, stale!.body));
    expect(missing!.headers).not.toHaveProperty('x-slack-signature');
    expect(missing!.headers).not.toHaveProperty('x-slack-request-timestamp');
  });

  it('refuses to act for unknown users or channels, so test mistakes surface early', async () => {
    await expect(slack.sendCommand(appUrl, { userId: 'U0NOBODY', channelId: CHANNEL })).rejects.toThrow(
      /unknown user U0NOBODY/,
    );
    await expect(slack.sendCommand(appUrl, { userId: ALICE, channelId: 'C0NOPE' })).rejects.toThrow(
      /unknown channel C0NOPE/,
    );
    expect(captured).toEqual([]);
  });

  it('treats an ack slower than 3 s as a timeout: the reply is not shown', async () => {
    answer = {
      delayMs: 3100,
      status: 200,
      body: JSON.stringify({ text: 'too late' }),
      contentType: 'application/json',
    };
    const result = await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL });
    expect(result.status).toBe(200);
    expect(result.elapsedMs).toBeGreaterThan(3000);
    expect(result.timedOut).toBe(true);
    expect(slack.ephemerals()).toEqual([]);
  });

  it('shows an in_channel command ack in the channel and reports an invalid ack body', async () => {
    answer = {
      delayMs: 0,
      status: 200,
      body: JSON.stringify({ response_type: 'in_channel', text: 'for everyone' }),
      contentType: 'application/json',
    };
    await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['for everyone']);
    answer = { ...answer, body: JSON.stringify({ blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] }) };
    const invalid = await slack.sendCommand(appUrl, { userId: ALICE, channelId: CHANNEL });
    expect(invalid.replyError).toBe('invalid_blocks');
  });
});
