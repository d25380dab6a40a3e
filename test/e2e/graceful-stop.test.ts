import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/** Resolves with everything the socket has received once `pattern` shows up in it. */
function received(socket: Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

describe('graceful stop', () => {
  let world: World;
  let app: TestApp;
  beforeAll(async () => {
    world = await startWorld();
    app = await startTestApp({ env: { ...world.env, ROLE: 'web' }, name: 'graceful-stop' });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('answers a request in flight on a keep-alive connection, then closes that connection and stops', async () => {
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const body = '{}';
    socket.write(
      `POST /webhooks/gitlab HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n` +
        `X-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: ${WEBHOOK_SECRET}\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    // The server has the request (and answered 100 Continue): it is in flight when stop() begins.
    await received(socket, /100 Continue\r\n\r\n/);
    const stopped = app.stop();
    const response = received(socket, /\r\n\r\n[^]*"status":"ignored"/);
    socket.write(body);
    expect(await response).toMatch(/^HTTP\/1\.1 200 OK/);
    // GitLab and Slack keep idle connections open for up to a minute; stop() must not wait for them.
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.all([stopped, closed]).then(() => 'stopped'),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting after 5 s'), 5_000))),
    ]);
    clearTimeout(timer);
    socket.destroy();
    expect(outcome).toBe('stopped');
  });
});
