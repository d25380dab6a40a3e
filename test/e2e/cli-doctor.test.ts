import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_SCOPES } from '../../src/cli/doctor/slack.ts';
import { webhookGeneration } from '../../src/cli/doctor/gitlab.ts';
import { startFakeGitLab, type FakeGitLab } from '../fakes/fake-gitlab.ts';
import { runGreenlight } from '../helpers/cli.ts';
import { oauthEnv } from '../helpers/oauth.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { ADMIN_TOKEN, CHANNEL, startWorld, type World } from '../helpers/world.ts';

/** The report line for a check: "[ok]  ...", "[warn] ..." or "[FAIL] ...", with its fix on the next line. */
const line = (out: string, pattern: RegExp) => out.split('\n').find((l) => pattern.test(l));
const fixAfter = (out: string, pattern: RegExp) => {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => pattern.test(l));
  return i >= 0 ? lines[i + 1] : undefined;
};

describe('greenlight doctor', () => {
  let world: World;
  let env: Record<string, string>;
  beforeAll(async () => {
    world = await startWorld();
    world.slack.setScopes([...BOT_SCOPES_FROM_MANIFEST]);
    env = { ...world.env, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: 'gltest-doctor' };
  });
  afterAll(async () => {
    await world?.close();
  });

  it('passes a working setup, and says which webhooks this GitLab sends', async () => {
    const run = await runGreenlight(['doctor'], env);
    expect(run.code).toBe(0);
    expect(line(run.out, /\[ok\] +environment is valid: sudo mode, ROLE=all, Slack over HTTP/)).toBeDefined();
    expect(
      line(run.out, /\[ok\] +Redis \d+\.\d+\.\d+ at redis:\/\/127\.0\.0\.1:6379 answers \(standalone\)/),
    ).toBeDefined();
    expect(line(run.out, /\[ok\] +GitLab 18\.2\.0-ee at http:\/\/127\.0\.0\.1:\d+ accepts GITLAB_TOKEN/)).toBeDefined();
    expect(
      line(run.out, /\[ok\] +GitLab before 19\.3 sends no webhook when a deployment starts waiting/),
    ).toBeDefined();
    expect(line(run.out, /\[ok\] +the token has the scopes api, sudo/)).toBeDefined();
    expect(line(run.out, /\[ok\] +the token belongs to administrator @greenlight-admin/)).toBeDefined();
    expect(line(run.out, /\[ok\] +Slack accepts the bot token: @greenlight/)).toBeDefined();
    expect(
      line(run.out, new RegExp(`\\[ok\\] +channel #deployments \\(${CHANNEL}\\) exists and the bot is in it`)),
    ).toBeDefined();
    expect(run.out).not.toContain('[FAIL]');
    // never prints secrets
    for (const secret of [
      ADMIN_TOKEN,
      world.slack.botToken,
      world.slack.signingSecret,
      world.env.GITLAB_WEBHOOK_SECRET!,
    ])
      expect(run.out).not.toContain(secret);
    const calls = world.slack.callsTo('conversations.info');
    expect(calls.at(-1)?.args.channel).toBe(CHANNEL);
  });

  it('tells GitLab 19.3+ apart', async () => {
    expect(webhookGeneration('19.3.0-ee')).toBe('modern');
    expect(webhookGeneration('20.0.1')).toBe('modern');
    expect(webhookGeneration('19.2.9')).toBe('legacy');
    expect(webhookGeneration('nightly')).toBe('unknown');
    const modern = await startFakeGitLab({ version: '19.3.1-ee' });
    try {
      const admin = modern.addUser({ username: 'root', admin: true });
      modern.addToken({ token: 'glpat-modern-0000000001', userId: admin.id, scopes: ['api', 'sudo'] });
      const run = await runGreenlight(['doctor'], {
        ...env,
        GITLAB_URL: modern.url,
        GITLAB_TOKEN: 'glpat-modern-0000000001',
      });
      expect(
        line(run.out, /\[ok\] +GitLab 19\.3\+ sends Deployment Hooks for blocked, approved and rejected deployments/),
      ).toBeDefined();
    } finally {
      await modern.close();
    }
  });

  it('prints a fix for each problem and exits 1', async () => {
    const gitlab: FakeGitLab = world.gitlab;
    const user = gitlab.addUser({ username: 'reader' });
    gitlab.addToken({
      token: 'glpat-reader-only-000001',
      userId: user.id,
      scopes: ['read_api'],
      expiresAt: gitlab.now() + 3 * 86_400_000,
    });
    world.slack.addChannel({ id: 'C0PRIVATE1', name: 'releases', isPrivate: true, botIsMember: false });
    world.slack.addChannel({ id: 'C0ARCHIVED', name: 'old-deploys', isArchived: true, botIsMember: true });
    world.slack.addChannel({ id: 'C0PUBLIC01', name: 'qa', botIsMember: false });
    world.slack.setScopes(['chat:write', 'users:read', 'channels:read', 'groups:read']);
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-doctor-'));
    writeFileSync(
      join(dir, 'policy.yml'),
      `routes:\n  - match: { environment: "prod*" }\n    channel: C0PRIVATE1\n  - ` +
        `match: { tier: staging }\n    channel: C0NOTHERE1\n  - match: { tier: testing }\n` +
        `    channel: C0PUBLIC01\nescalation:\n  - { after: 2h, channel: C0ARCHIVED }\n`,
    );
    try {
      const run = await runGreenlight(['doctor'], {
        ...env,
        GITLAB_TOKEN: 'glpat-reader-only-000001',
        REDIS_URL: 'redis://127.0.0.1:1',
        CONFIG_FILE: join(dir, 'policy.yml'),
      });
      expect(run.code).toBe(1);
      expect(
        line(run.out, /\[FAIL\] Redis at redis:\/\/127\.0\.0\.1:1 does not answer \(ECONNREFUSED\)/),
      ).toBeDefined();
      expect(fixAfter(run.out, /\[FAIL\] Redis at/)).toMatch(/fix: start Redis or correct REDIS_URL/);
      expect(line(run.out, /\[FAIL\] GITLAB_TOKEN lacks the scopes api, sudo \(has read_api\)/)).toBeDefined();
      expect(line(run.out, /\[warn\] the token expires on \d{4}-\d\d-\d\d, in less than 3 days/)).toBeDefined();
      expect(line(run.out, /\[FAIL\] GITLAB_TOKEN belongs to @reader, who is not an administrator/)).toBeDefined();
      expect(
        line(
          run.out,
          /\[FAIL\] the bot lacks commands \(the slash command\), users:read\.email \(match Slack and GitLab users by e-mail in sudo mode\)$/,
        ),
      ).toBeDefined();
      expect(fixAfter(run.out, /\[FAIL\] the bot lacks/)).toMatch(/fix: .*reinstall it/);
      expect(line(run.out, /\[warn\] the bot lacks chat:write\.public/)).toBeDefined();
      // Slack hides private channels from a bot that is not in them
      expect(
        line(run.out, /\[FAIL\] channel C0PRIVATE1 does not exist, or is private and the bot is not in it/),
      ).toBeDefined();
      expect(fixAfter(run.out, /channel C0PRIVATE1/)).toMatch(/\/invite @greenlight/);
      expect(line(run.out, /\[warn\] the bot is not in #qa \(C0PUBLIC01\): cards are posted/)).toBeDefined();
      expect(line(run.out, /\[FAIL\] channel C0NOTHERE1 does not exist/)).toBeDefined();
      expect(line(run.out, /\[FAIL\] channel #old-deploys \(C0ARCHIVED\) is archived/)).toBeDefined();
      // every problem line is followed by its fix
      const lines = run.out.split('\n');
      lines.forEach((l, i) => {
        if (/\[(FAIL|warn)\]/.test(l)) expect(lines[i + 1]).toMatch(/^ +fix: /);
      });
      expect(run.out).toMatch(/\d+ problems, \d+ warnings?\.$/);
    } finally {
      world.slack.setScopes([...BOT_SCOPES_FROM_MANIFEST]);
    }
  });

  it('refuses a wrong GitLab token and an unknown Slack token with what to do', async () => {
    const run = await runGreenlight(['doctor'], {
      ...env,
      GITLAB_TOKEN: 'glpat-nobody-knows-this',
      SLACK_BOT_TOKEN: 'xoxb-not-a-real-token',
    });
    expect(run.code).toBe(1);
    expect(line(run.out, /\[FAIL\] GitLab at .* refuses GITLAB_TOKEN \(401/)).toBeDefined();
    expect(fixAfter(run.out, /refuses GITLAB_TOKEN/)).toMatch(
      /fix: the token is wrong, expired or revoked: create a personal access token of an administrator with the scopes api and sudo/,
    );
    expect(line(run.out, /\[FAIL\] Slack refuses SLACK_BOT_TOKEN \(invalid_auth\)/)).toBeDefined();
  });

  it('checks the Socket Mode app-level token when SLACK_APP_TOKEN is set', async () => {
    const good = await runGreenlight(['doctor'], { ...env, SLACK_APP_TOKEN: world.slack.appToken });
    expect(line(good.out, /\[ok\] +environment is valid: .*Slack over Socket Mode/)).toBeDefined();
    expect(line(good.out, /\[ok\] +Socket Mode: the app-level token opens connections/)).toBeDefined();
    const bad = await runGreenlight(['doctor'], { ...env, SLACK_APP_TOKEN: 'xapp-1-A0789DGATE-wrong' });
    expect(bad.code).toBe(1);
    expect(line(bad.out, /\[FAIL\] Socket Mode: Slack refuses SLACK_APP_TOKEN \(invalid_auth\)/)).toBeDefined();
    expect(fixAfter(bad.out, /Socket Mode: Slack refuses/)).toMatch(/connections:write/);
  });

  it('oauth mode: checks the Slack app credentials for Sign in with Slack, and names the redirect URL', async () => {
    const oauth: Record<string, string> = {
      ...oauthEnv(world),
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: 'gltest-doctor',
      PUBLIC_URL: 'http://127.0.0.1:9',
    };
    const good = await runGreenlight(['doctor'], oauth);
    expect(line(good.out, /\[ok\] +Sign in with Slack: Slack accepts SLACK_CLIENT_ID and SLACK_CLIENT_SECRET/)).toMatch(
      /redirect URL http:\/\/127\.0\.0\.1:9\/oauth\/slack\/callback/,
    );
    expect(good.out).not.toContain(oauth.SLACK_CLIENT_SECRET!);
    const bad = await runGreenlight(['doctor'], { ...oauth, SLACK_CLIENT_SECRET: 'not-the-secret' });
    expect(bad.code).toBe(1);
    expect(
      line(bad.out, /\[FAIL\] +Sign in with Slack: Slack refuses the app's credentials \(bad_client_secret\)/),
    ).toBeDefined();
    expect(fixAfter(bad.out, /Sign in with Slack: Slack refuses/)).toMatch(/App Credentials.*SLACK_CLIENT_SECRET/);
  });

  it('lists every configuration problem at once (exit 78)', async () => {
    const run = await runGreenlight(['doctor'], { GITLAB_AUTH_MODE: 'sudo', SLACK_BOT_TOKEN: 'nope' });
    expect(run.code).toBe(78);
    expect(line(run.out, /\[FAIL\] GITLAB_TOKEN: required/)).toBeDefined();
    expect(line(run.out, /\[FAIL\] SLACK_BOT_TOKEN: must be a bot token/)).toBeDefined();
    expect(line(run.out, /\[FAIL\] GITLAB_WEBHOOK_SECRET: required/)).toBeDefined();
  });

  it('asks for exactly the bot scopes of manifest.yml', () => {
    expect(Object.keys(BOT_SCOPES).sort()).toEqual([...BOT_SCOPES_FROM_MANIFEST].sort());
  });
});

const manifest = parseYaml(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')) as {
  oauth_config: { scopes: { bot: string[] } };
};
const BOT_SCOPES_FROM_MANIFEST: readonly string[] = manifest.oauth_config.scopes.bot;
