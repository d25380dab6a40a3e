// oauth mode end to end: the real app against fake GitLab (OAuth provider) and fake Slack. An unlinked
// click gets a Link button; the browser flow links the account; clicks then reach GitLab with the
// clicker's own token; tokens refresh after 2 h; a revoked grant asks the person to link again; four eyes.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/cli/audit.ts';
import { createAuditLog } from '../../src/adapters/redis/audit-log.ts';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import type { FakeUser } from '../fakes/fake-gitlab.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { linkButtonUrl, linkInBrowser, oauthEnv, PUBLIC_URL, READ_TOKEN, refreshCalls } from '../helpers/oauth.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const HOUR = 3_600_000;

describe('oauth mode: approve as yourself', () => {
  let world: World;
  let app: TestApp;
  let env: Record<string, string>;
  let deployBot: FakeUser;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    env = oauthEnv(world);
    deployBot = world.gitlab.addUser({ username: 'deploy-bot', name: 'Deploy Bot', email: 'deploy-bot@acme.test' });
    world.gitlab.addProjectMember(world.project.id, deployBot.id, 40);
    app = await startTestApp({
      env,
      name: 'e2e-oauth',
      policy: 'four_eyes: { forbid_commit_author: true }\n',
      options: {
        clock: { now: () => world.gitlab.now() },
        // each link is three requests of one browser (start, Slack, GitLab), and this file links many times
        rateLimits: { oauth: { perSecond: 1000, burst: 1000 } },
      },
    });
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

  const deploy = (over: { userId?: number; commitAuthor?: { name: string; email: string } } = {}) =>
    world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: over.userId ?? world.bob.id,
      ...(over.commitAuthor && { commitAuthor: over.commitAuthor }),
    });
  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for deployment ${deploymentId}` },
    );
  const approve = async (slackUserId: string, deploymentId: number) => {
    const card = await cardFor(deploymentId);
    await world.slack.clickButton(app.url, {
      userId: slackUserId,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
  };
  const nextEphemeral = async (userId: string, pattern: RegExp, after: number) =>
    waitFor(
      () =>
        world.slack
          .ephemerals({ user: userId })
          .slice(after)
          .find((e) => pattern.test(e.text ?? '')),
      { what: `ephemeral ${pattern} to ${userId}` },
    );
  const ephemeralCount = (userId: string) => world.slack.ephemerals({ user: userId }).length;
  const approvalsOf = (deploymentId: number) =>
    world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${deploymentId}/`));

  /** `/deploys <text>`: the answer arrives through response_url. */
  async function command(userId: string, text: string) {
    const after = ephemeralCount(userId);
    await world.slack.sendCommand(app.url, { userId, channelId: CHANNEL, text });
    return waitFor(
      () =>
        world.slack
          .ephemerals({ user: userId })
          .slice(after)
          .find((e) => e.via === 'response_url'),
      { what: `answer to ${text}` },
    );
  }

  async function linkWithCommand(slackUserId: string, gitlabUserId: number) {
    const reply = await command(slackUserId, 'link');
    const url = linkButtonUrl(reply.blocks);
    expect(url).toBeDefined();
    const browser = await linkInBrowser(app.url, world, url!, { slack: slackUserId, gitlab: gitlabUserId });
    expect(browser.status).toBe(200);
    return browser;
  }

  it(
    'offers an unlinked clicker a Link button; after ' + 'linking, the next click approves with their own token',
    async () => {
      const d = deploy();
      const before = ephemeralCount(world.slackIds.alice);
      await approve(world.slackIds.alice, d.id);
      const notice = await nextEphemeral(world.slackIds.alice, /not linked to GitLab yet/, before);
      expect(approvalsOf(d.id)).toEqual([]);
      const url = linkButtonUrl(notice.blocks)!;
      expect(url.startsWith(`${PUBLIC_URL}/oauth/gitlab/start?t=`)).toBe(true);

      const browser = await linkInBrowser(app.url, world, url, { slack: world.slackIds.alice, gitlab: world.alice.id });
      expect(Object.fromEntries(browser.authorizeUrl.searchParams)).toMatchObject({
        response_type: 'code',
        code_challenge_method: 'S256',
        scope: 'api read_user',
        redirect_uri: `${PUBLIC_URL}/oauth/gitlab/callback`,
      });
      expect(browser.status).toBe(200);
      expect(browser.html).toContain('Slack: alice ↔ GitLab: @alice');
      expect(browser.html).toContain('You can close this tab');
      expect(browser.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(browser.headers.get('x-frame-options')).toBe('DENY');
      expect(browser.headers.get('x-content-type-options')).toBe('nosniff');
      expect(browser.headers.get('referrer-policy')).toBe('no-referrer');
      expect(browser.headers.get('cache-control')).toBe('no-store');
      await waitFor(
        () => world.slack.dms(world.slackIds.alice).some((m) => /now acts as GitLab \*@alice\*/.test(m.text ?? '')),
        { what: 'confirmation DM' },
      );

      const again = ephemeralCount(world.slackIds.alice);
      await approve(world.slackIds.alice, d.id);
      await nextEphemeral(world.slackIds.alice, /You approved acme\/web → production in GitLab as @alice/, again);
      expect(approvalsOf(d.id)).toEqual([
        expect.objectContaining({
          status: 201,
          tokenKind: 'oauth',
          viaSudo: false,
          actingUser: expect.objectContaining({ username: 'alice' }),
          tokenUser: expect.objectContaining({ username: 'alice' }),
        }),
      ]);
    },
  );

  it('answers /deploys link, whoami and unlink', async () => {
    await linkWithCommand(world.slackIds.carol, world.carol.id);
    const me = await command(world.slackIds.carol, 'whoami');
    expect(me.text).toMatch(/acts for you as GitLab user \*@carol\* \(Carol QA\).*Mode: oauth.*GitLab accepts it/);
    expect(
      world.gitlab.requests.filter(
        (r) => r.path === '/api/v4/user' && r.tokenUser?.username === 'carol' && r.status === 200,
      ).length,
    ).toBeGreaterThan(0);

    const unlinked = await command(world.slackIds.carol, 'unlink');
    expect(unlinked.text).toMatch(/Unlinked from GitLab user \*@carol\*.*revoked its access in GitLab/);
    expect(world.gitlab.requests.some((r) => r.path === '/oauth/revoke' && r.status === 200)).toBe(true);
    const after = await command(world.slackIds.carol, 'whoami');
    expect(after.text).toMatch(/not linked to GitLab yet/);
    expect(linkButtonUrl(after.blocks)).toBeDefined();
  });

  it('refreshes the token once after two hours and keeps approving as the person', async () => {
    world.gitlab.advanceClock(2 * HOUR);
    const before = refreshCalls(world.gitlab).length;
    const d = deploy();
    const seen = ephemeralCount(world.slackIds.alice);
    await approve(world.slackIds.alice, d.id);
    await nextEphemeral(world.slackIds.alice, /You approved/, seen);
    expect(refreshCalls(world.gitlab).length).toBe(before + 1);
    expect(approvalsOf(d.id)).toEqual([
      expect.objectContaining({
        status: 201,
        tokenKind: 'oauth',
        actingUser: expect.objectContaining({ username: 'alice' }),
      }),
    ]);
  });

  it(
    'tells the person to link again when they revoked ' + 'greenlight in GitLab; linking again makes the click work',
    async () => {
      world.gitlab.revokeGrant(world.alice.id);
      const d = deploy();
      const seen = ephemeralCount(world.slackIds.alice);
      await approve(world.slackIds.alice, d.id);
      const notice = await nextEphemeral(
        world.slackIds.alice,
        /Your GitLab link stopped working\. .* GitLab said: “access was revoked in GitLab”/,
        seen,
      );
      expect(approvalsOf(d.id).filter((c) => c.status === 201)).toEqual([]);

      const browser = await linkInBrowser(app.url, world, linkButtonUrl(notice.blocks)!, {
        slack: world.slackIds.alice,
        gitlab: world.alice.id,
      });
      expect(browser.html).toContain('Slack: alice ↔ GitLab: @alice');
      const again = ephemeralCount(world.slackIds.alice);
      await approve(world.slackIds.alice, d.id);
      await nextEphemeral(world.slackIds.alice, /You approved/, again);
      expect(approvalsOf(d.id).filter((c) => c.status === 201)).toHaveLength(1);
    },
  );

  it('four eyes: refuses the author of the deployed commit even when a bot triggered the pipeline', async () => {
    const d = deploy({ userId: deployBot.id, commitAuthor: { name: 'Alice Approver', email: 'alice@acme.test' } });
    const seen = ephemeralCount(world.slackIds.alice);
    await approve(world.slackIds.alice, d.id);
    await nextEphemeral(world.slackIds.alice, /You wrote the commit being deployed/, seen);
    expect(approvalsOf(d.id)).toEqual([]);

    await linkWithCommand(world.slackIds.carol, world.carol.id);
    const carolSeen = ephemeralCount(world.slackIds.carol);
    await approve(world.slackIds.carol, d.id);
    await nextEphemeral(world.slackIds.carol, /You approved/, carolSeen);
    expect(approvalsOf(d.id)).toEqual([
      expect.objectContaining({ status: 201, actingUser: expect.objectContaining({ username: 'carol' }) }),
    ]);
  });

  it('shows clear pages, never a stack trace, for bad, used or refused sign-ins', async () => {
    const get = async (path: string) => {
      const res = await fetch(`${app.url}${path}`, { redirect: 'manual' });
      return { status: res.status, html: await res.text(), headers: res.headers };
    };
    const cases = [
      [await get('/oauth/gitlab/start?t=forged.token'), 400, 'This link is not valid'],
      [await get('/oauth/gitlab/start'), 400, 'This link is not valid'],
      [await get('/oauth/gitlab/callback?state=never-issued&code=abc'), 400, 'This sign-in has expired'],
      [
        await get('/oauth/gitlab/callback?state=never-issued&error=access_denied&error_description=denied'),
        400,
        'Nothing was linked',
      ],
      [await get('/oauth/gitlab/callback'), 400, 'This is not a GitLab sign-in'],
    ] as const;
    for (const [page, status, title] of cases) {
      expect(page.status).toBe(status);
      expect(page.html).toContain(title);
      expect(page.html).toContain('/deploys link');
      expect(page.html).not.toMatch(/\bat .*\.ts|Error:/);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('cache-control')).toBe('no-store');
    }

    // A code exchanged once cannot be replayed: the state is gone.
    const reply = await command(world.slackIds.carol, 'link');
    const browser = await linkInBrowser(app.url, world, linkButtonUrl(reply.blocks)!, {
      slack: world.slackIds.carol,
      gitlab: world.carol.id,
    });
    expect(browser.status).toBe(200);
    const replay = await get(`${browser.callbackUrl.pathname}${browser.callbackUrl.search}`);
    expect(replay.status).toBe(400);
    expect(replay.html).toContain('This sign-in has expired');
  });

  it('records every decision attempt in the audit stream, readable with the audit command', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const entries = await waitFor(
        async () => {
          const all = await createAuditLog(redis, keyspace(app.prefix)).read({ sinceMs: 0 });
          return all.filter((e) => e.slackUser === world.slackIds.alice).length >= 5 ? all : undefined;
        },
        { what: 'audit entries' },
      );
      const alice = entries
        .filter((e) => e.slackUser === world.slackIds.alice)
        .map((e) => [e.outcome, e.gitlabUser, e.action]);
      expect(alice).toEqual([
        ['unlinked', '', 'approve'],
        ['recorded', 'alice', 'approve'],
        ['recorded', 'alice', 'approve'],
        ['link_broken', 'alice', 'approve'],
        ['recorded', 'alice', 'approve'],
        ['commit_author', 'alice', 'approve'],
      ]);
      const recorded = entries.find((e) => e.outcome === 'recorded')!;
      expect(recorded).toMatchObject({
        team: world.slack.identity.teamId,
        project: 'acme/web',
        comment: '',
        error: '',
      });
      expect(new Date(recorded.at).toISOString()).toBe(recorded.at);
      expect(entries.find((e) => e.outcome === 'link_broken')!.error).toBe('access was revoked in GitLab');

      const lines: string[] = [];
      const code = await auditCommand(['--since', '1h'], {
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
        env: { ...env, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: app.prefix, CONFIG_FILE: '' },
      });
      expect(code).toBe(0);
      expect(lines.map((l) => JSON.parse(l).outcome)).toEqual(entries.map((e) => e.outcome));
    } finally {
      redis.disconnect();
    }
  });

  it("never acted with greenlight's own token: every decision carried the clicker's OAuth token", () => {
    const decisions = world.gitlab.requests.filter((r) => r.method === 'POST' && /\/(approval|play)$/.test(r.path));
    expect(decisions.length).toBeGreaterThan(0);
    for (const r of decisions) {
      expect(r.headers['private-token']).toBeUndefined();
      expect(r.headers.sudo).toBeUndefined();
      expect(r).toMatchObject({ tokenKind: 'oauth', viaSudo: false });
      // actingUser is null only where GitLab refused the token (the revoked grant): then it acted for nobody.
      if (r.actingUser) expect(r.tokenUser).toEqual(r.actingUser);
      else expect(r.status).toBe(401);
    }
    expect(
      world.gitlab.requests.filter((r) => r.headers['private-token'] === READ_TOKEN).every((r) => r.method === 'GET'),
    ).toBe(true);
    expect(app.logs.text()).not.toMatch(/"(access|refresh)_token"\s*:\s*"[0-9a-f]{16,}/);
  });
});
