import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSetupServer, type SetupServer } from '../../src/setup/server.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.ts';
import { startTestApp } from '../helpers/app.ts';
import { startWorld } from '../helpers/world.ts';

/**
 * Only the person at greenlight's console may use the setup page: the one-time code it prints opens a session,
 * every form carries that session's CSRF token, cross-site posts are refused, Slack's install redirect is
 * bound to the install this page started, and a configured greenlight has no setup page at all.
 */
describe('setup page access', () => {
  let server: SetupServer;
  let slack: FakeSlack;
  let dir: string;
  let base: string;
  const printed: string[] = [];

  beforeAll(async () => {
    slack = await startFakeSlack();
    dir = mkdtempSync(join(tmpdir(), 'greenlight-setup-'));
    server = await startSetupServer({
      env: {},
      problems: ['GITLAB_TOKEN: required.'],
      envFile: join(dir, '.env'),
      port: 0,
      slackApiUrl: slack.apiUrl,
      command: '/deploys',
      print: (text) => printed.push(text),
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await slack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers, redirect: 'manual' });
  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
    });
  const session = async () => {
    const opened = await get(`/setup?code=${server.code}`);
    expect(opened.status).toBe(303);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    const page = await (await get('/setup', { cookie })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    return { cookie, csrf, page };
  };

  it('without the code shows nothing but a form asking for it', async () => {
    const res = await get('/setup');
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('Setup code');
    expect(html).not.toContain('GitLab URL');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await get('/setup?code=not-the-code')).status).toBe(401);
    expect((await get('/anything-else')).status).toBe(404);
  });

  it('opens with the printed code, which leaves the address bar; the session cookie is HttpOnly', async () => {
    const opened = await get(`/setup?code=${server.code}`);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/setup#gitlab');
    expect(opened.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Lax/);
    const { page } = await session();
    expect(page).toContain('GitLab URL');
    expect(page).toContain('GITLAB_TOKEN: required.');
  });

  it('refuses forms without the session, with another CSRF token, or from another site', async () => {
    const { cookie, csrf } = await session();
    const form = { gitlab_url: 'http://127.0.0.1:1', gitlab_token: 'x', public_url: base };
    expect((await post('/setup/gitlab', { ...form, csrf })).status).toBe(403);
    expect((await post('/setup/gitlab', { ...form, csrf: 'forged' }, { cookie })).status).toBe(403);
    expect((await post('/setup/gitlab', { ...form, csrf }, { cookie, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(
      403,
    );
    expect((await post('/setup/gitlab', { ...form, csrf }, { cookie, Origin: 'https://evil.test' })).status).toBe(403);
    expect(printed.some((l) => /refused a cross-site or forged form/.test(l))).toBe(true);
    // the real thing is accepted (and answered with the page again)
    const accepted = await post('/setup/gitlab', { ...form, csrf }, { cookie, 'Sec-Fetch-Site': 'same-origin' });
    expect(accepted.status).toBe(303);
  });

  it("takes Slack's install redirect only for the install it started", async () => {
    const res = await get('/setup/slack/installed?code=123&state=guessed');
    expect(res.status).toBe(400);
    expect(slack.callsTo('oauth.v2.access')).toEqual([]);
  });

  it('keeps the manual Slack path: a bot token and signing secret, or an app-level token (Socket Mode)', async () => {
    const { cookie, csrf } = await session();
    const manual = (form: Record<string, string>) =>
      post('/setup/slack/manual', { csrf, ...form }, { cookie, 'Sec-Fetch-Site': 'same-origin' });
    const pageText = async () => (await (await get('/setup', { cookie })).text()).replace(/\s+/g, ' ');
    await manual({ bot_token: 'xoxb-not-this-one-0001', signing_secret: 'x' });
    expect(await pageText()).toContain('Slack refuses the bot token (invalid_auth)');
    await manual({ bot_token: slack.botToken, app_token: 'xapp-wrong' });
    expect(await pageText()).toContain('Slack refuses the app-level token (invalid_auth)');
    await manual({ bot_token: slack.botToken, app_token: slack.appToken });
    expect(await pageText()).toContain('greenlight is installed in the Slack workspace acme (Socket Mode');
  });

  it('takes no more codes after 20 wrong ones, not even the right one', async () => {
    for (let i = 0; i < 20; i += 1) await get(`/setup?code=wrong-${i}`);
    expect((await get(`/setup?code=${server.code}`)).status).toBe(429);
  });
});

describe('a configured greenlight', () => {
  it('serves no setup page', async () => {
    const world = await startWorld();
    const app = await startTestApp({ env: world.env, name: 'no-setup' });
    try {
      for (const path of ['/setup', `/setup?code=anything`, '/setup/slack/installed?state=x&code=y'])
        expect((await fetch(`${app.url}${path}`)).status).toBe(404);
    } finally {
      await app.stop();
      await world.close();
    }
  });
});
