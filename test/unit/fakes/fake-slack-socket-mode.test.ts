import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFakeSlack, type FakeSlack } from '../../fakes/fake-slack.ts';

const open = async (slack: FakeSlack, token: string) => {
  const res = await fetch(`${slack.apiUrl}apps.connections.open`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  });
  return (await res.json()) as { ok: boolean; url?: string; error?: string };
};

const connect = (url: string) =>
  new Promise<{ ws: WebSocket; hello: Record<string, unknown> }>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('message', (data) => resolve({ ws, hello: JSON.parse(String(data)) as Record<string, unknown> }));
    ws.once('error', reject);
  });

describe('fake Slack: Socket Mode', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(async () => {
    await slack?.close();
  });

  it('hands out a WebSocket URL only for the app-level token', async () => {
    expect(await open(slack, slack.botToken)).toEqual({ ok: false, error: 'invalid_auth' });
    const ok = await open(slack, slack.appToken);
    expect(ok.ok).toBe(true);
    expect(ok.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/);
    expect(slack.callsTo('apps.connections.open').map((c) => c.response.body)).toHaveLength(2);
  });

  it('says hello, delivers envelopes and records the acks; a ticket works once', async () => {
    const { url } = await open(slack, slack.appToken);
    const { ws, hello } = await connect(url!);
    expect(hello).toMatchObject({ type: 'hello', connection_info: { app_id: slack.identity.appId } });
    await expect(connect(url!)).rejects.toThrow(/401/);
    ws.on('message', (data) => {
      const envelope = JSON.parse(String(data)) as { envelope_id: string; type: string; payload: { command?: string } };
      ws.send(
        JSON.stringify({ envelope_id: envelope.envelope_id, payload: { text: `got ${envelope.payload.command}` } }),
      );
    });
    slack.addUser({ id: 'U0456ALICE', name: 'alice' });
    slack.addChannel({ id: 'C0123DEPLOY', name: 'deployments', botIsMember: true });
    const result = await slack.sendCommand('socket-mode:', {
      userId: 'U0456ALICE',
      channelId: 'C0123DEPLOY',
      text: 'help',
    });
    expect(result.json).toEqual({ text: 'got /deploys' });
    expect(slack.socketMode.envelopes().at(-1)).toMatchObject({
      type: 'slash_commands',
      payload: { text: 'help', user_id: 'U0456ALICE' },
      ack: { payload: { text: 'got /deploys' } },
    });
    expect(slack.ephemerals({ user: 'U0456ALICE' }).at(-1)?.text).toBe('got /deploys');
    ws.close();
  });
});
