// Attack 1 of issue 14: a forwarded Link URL must not link the wrong person. Bob (who triggers deployments) asks
// for a link and sends it to Alice, who is signed in to Slack and GitLab in her browser. Before Sign in with
// Slack, her browser finished the flow and Bob's Slack account acted as Alice in GitLab. Now the browser that
// links must be signed in to Slack as the person who asked, both legs must come back to the same browser, and a
// GitLab account acts for one Slack user only.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/cookie-browser.ts';
import { browserFor, linkButtonUrl, linkInBrowser, oauthEnv, PUBLIC_URL } from '../helpers/oauth.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

describe('linking proves both identities in one browser', () => {
  let world: World;
  let app: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    app = await startTestApp({
      env: oauthEnv(world),
      name: 'e2e-link-attacks',
      // a person's browser makes several requests per link; this file links many times
      options: { rateLimits: { oauth: { perSecond: 1000, burst: 1000 } } },
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
    });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.stop();
    await world?.close();
  });

  const keys = () => keyspace(app.prefix);
  const linkOf = (slackUserId: string) => redis.get(keys().identity(world.slack.identity.teamId, slackUserId));

  /** `/deploys link` as `userId`: the Link button's URL from the answer. */
  async function linkUrl(userId: string): Promise<string> {
    const after = world.slack.ephemerals({ user: userId }).length;
    await world.slack.sendCommand(app.url, { userId, channelId: CHANNEL, text: 'link' });
    const reply = await waitFor(
      () =>
        world.slack
          .ephemerals({ user: userId })
          .slice(after)
          .find((e) => e.via === 'response_url'),
      { what: `answer to link from ${userId}` },
    );
    const url = linkButtonUrl(reply.blocks);
    expect(url).toBeDefined();
    return url!;
  }

  async function clickApprove(slackUserId: string, deploymentId: number) {
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for ${deploymentId}` },
    );
    const before = world.slack.ephemerals({ user: slackUserId }).length;
    await world.slack.clickButton(app.url, {
      userId: slackUserId,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    return waitFor(() => world.slack.ephemerals({ user: slackUserId }).slice(before)[0], {
      what: `answer to ${slackUserId}'s click`,
    });
  }

  it('refuses a link forwarded to someone else: Bob cannot act as Alice, nothing is stored', async () => {
    // Alice links her own account first (so GitLab would show her no consent screen).
    const own = await linkInBrowser(app.url, world, await linkUrl(world.slackIds.alice), {
      slack: world.slackIds.alice,
      gitlab: world.alice.id,
    });
    expect(own.status).toBe(200);

    const forwarded = await linkUrl(world.slackIds.bob);
    const inAlicesBrowser = await linkInBrowser(app.url, world, forwarded, {
      slack: world.slackIds.alice,
      gitlab: world.alice.id,
    });
    expect(inAlicesBrowser.status).toBe(403);
    expect(inAlicesBrowser.html).toContain('Nothing was linked: this link belongs to another Slack account');
    expect(inAlicesBrowser.html).toContain('signed in to Slack as alice');
    // Refused at the Slack leg: GitLab was never asked, nothing was stored for Bob.
    expect(inAlicesBrowser.authorizeUrl.origin).not.toBe(new URL(world.gitlab.url).origin);
    expect(await linkOf(world.slackIds.bob)).toBeNull();

    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const answer = await clickApprove(world.slackIds.bob, d.id);
    expect(answer.text).toMatch(/not linked to GitLab yet/);
    expect(world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${d.id}/`))).toEqual([]);
  });

  it('refuses a flow finished in another browser than the one that opened the link', async () => {
    const carolsLink = await linkUrl(world.slackIds.carol);
    const carols = browserFor(world, app.url, { slack: world.slackIds.carol, gitlab: world.carol.id });
    // Carol's browser goes through Sign in with Slack; the GitLab leg is then opened in another browser
    // (signed in as Alice) from the authorize URL Carol's browser was sent to.
    const first = await carols.open(carolsLink, { follow: false });
    const toSlack = await carols.open(first.headers.get('location')!, { follow: false });
    const slackCallback = await carols.open(toSlack.headers.get('location')!, { follow: false });
    expect(slackCallback.status).toBe(302);
    const gitlabAuthorize = slackCallback.headers.get('location')!;
    expect(gitlabAuthorize.startsWith(world.gitlab.url)).toBe(true);

    const other = browserFor(world, app.url, { slack: world.slackIds.alice, gitlab: world.alice.id });
    const finished = await other.open(gitlabAuthorize);
    expect(finished.status).toBe(403);
    expect(finished.html).toContain('this is not the browser that started');
    expect(await linkOf(world.slackIds.carol)).toBeNull();
  });

  it('links a GitLab account to one Slack user only, and names both accounts when it links', async () => {
    const dave = world.slackIds.dave;
    const taken = await linkInBrowser(app.url, world, await linkUrl(dave), { slack: dave, gitlab: world.alice.id });
    expect(taken.status).toBe(409);
    expect(taken.html).toContain('this GitLab account is linked to another Slack user');
    expect(await linkOf(dave)).toBeNull();
    // The grant GitLab issued for the refused link was given back.
    expect(world.gitlab.requests.some((r) => r.path === '/oauth/revoke' && r.status === 200)).toBe(true);

    const ok = await linkInBrowser(app.url, world, await linkUrl(world.slackIds.carol), {
      slack: world.slackIds.carol,
      gitlab: world.carol.id,
    });
    expect(ok.status).toBe(200);
    expect(ok.html).toContain('Slack: carol ↔ GitLab: @carol');
    await waitFor(
      () =>
        world.slack
          .dms(world.slackIds.carol)
          .find((m) => /Your Slack account now acts as GitLab \*@carol\*.*Not you\? `\/deploys unlink`/s.test(m.text)),
      { what: 'the DM that names the linked GitLab account' },
    );
  });

  it('keeps one pending link per Slack user: asking again replaces the old one, Redis does not grow', async () => {
    const url = await linkUrl(world.slackIds.dave);
    for (let i = 0; i < 30; i += 1) {
      const browser = new Browser({ publicUrl: PUBLIC_URL, appUrl: app.url });
      const start = await browser.open(url, { follow: false });
      expect(start.status).toBe(302);
    }
    const states = await redis.keys(`${keys().oauthState('')}*`);
    expect(states).toHaveLength(1);
  });

  it('sets the browser cookie HttpOnly and SameSite=Lax, scoped to /oauth', async () => {
    const start = await fetch(`${app.url}${new URL(await linkUrl(world.slackIds.dave)).pathname}`, {
      redirect: 'manual',
    });
    expect(start.status).toBe(400);
    const url = new URL(await linkUrl(world.slackIds.dave));
    const response = await fetch(`${app.url}${url.pathname}${url.search}`, { redirect: 'manual' });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('greenlight_link='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/oauth/);
    expect(cookie).not.toMatch(/Secure/);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${world.slack.url}/openid/connect/authorize`);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      response_type: 'code',
      scope: 'openid profile',
      client_id: world.slack.identity.clientId,
      redirect_uri: `${PUBLIC_URL}/oauth/slack/callback`,
      team: world.slack.identity.teamId,
    });
  });

  it('refuses ID tokens with a wrong audience, issuer or nonce, expired, or signed by another key', async () => {
    for (const tampering of [
      { audience: 'another-app' },
      { issuer: 'https://evil.example' },
      { nonce: 'replayed' },
      { expiresIn: -3600 },
      { foreignKey: true },
    ]) {
      world.slack.tamperIdTokens(tampering);
      const result = await linkInBrowser(app.url, world, await linkUrl(world.slackIds.dave), {
        slack: world.slackIds.dave,
        gitlab: world.bob.id,
      });
      expect(result.status, JSON.stringify(tampering)).toBe(400);
      expect(result.html).toContain('Slack did not confirm who you are');
      expect(await linkOf(world.slackIds.dave)).toBeNull();
    }
    world.slack.tamperIdTokens(null);
  });
});
