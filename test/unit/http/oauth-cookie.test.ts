// The link flow's browser cookie: HttpOnly, SameSite=Lax, scoped to /oauth, and Secure when PUBLIC_URL is https
// (the e2e tests run on http and check the rest).
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { oauthRouter } from '../../../src/entrypoints/http/oauth-routes.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';

async function startCookie(publicUrl: string): Promise<{ cookie: string; location: string | null; hash: string }> {
  let hash = '';
  const app = express();
  app.use(
    oauthRouter({
      identity: {
        beginLink: async (_user, browser) => {
          hash = browser;
          return 'https://slack.test/openid/connect/authorize?state=s';
        },
        completeSlack: async () => '',
        completeLink: async () => {
          throw new Error('not used');
        },
        abandonLink: async () => null,
      },
      linkStart: { verify: () => ({ ok: true, user: { teamId: 'T1', userId: 'U1' } }) },
      confirm: async () => {},
      command: '/deploys',
      publicUrl,
      logger: new CapturingLogger(),
    }),
  );
  const server = app.listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/oauth/gitlab/start?t=signed`, { redirect: 'manual' });
    return { cookie: res.headers.get('set-cookie') ?? '', location: res.headers.get('location'), hash };
  } finally {
    server.close();
  }
}

describe('the link cookie', () => {
  it('is Secure, HttpOnly, SameSite=Lax and scoped to /oauth on https; Redis gets its hash', async () => {
    const { cookie, location, hash } = await startCookie('https://gl.acme.test');
    expect(cookie).toMatch(/^greenlight_link=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\/oauth/);
    expect(cookie).toMatch(/; Max-Age=600/);
    expect(location).toBe('https://slack.test/openid/connect/authorize?state=s');
    const value = /^greenlight_link=([^;]+)/.exec(cookie)![1]!;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(value);
  });

  it('is not Secure on plain http (a local PUBLIC_URL)', async () => {
    expect((await startCookie('http://greenlight.test')).cookie).not.toMatch(/Secure/);
  });
});
