import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.ts';
import { formatDuration, parseDuration } from '../../../src/config/duration.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = {
  GITLAB_TOKEN: 'glpat-abc',
  GITLAB_WEBHOOK_SECRET: 'a-webhook-secret-of-length',
  GITLAB_AUTH_MODE: 'sudo',
  SLACK_BOT_TOKEN: 'xoxb-1-2-3',
  SLACK_SIGNING_SECRET: 'signing',
  SLACK_CHANNEL: 'C0DEPLOYS',
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      port: 3000,
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'greenlight',
      role: 'all',
      logLevel: 'info',
    });
    expect(c.gitlab).toMatchObject({ url: 'https://gitlab.com', authMode: 'sudo' });
    expect(c.slack).toMatchObject({ apiUrl: 'https://slack.com/api/', command: '/deploys' });
    expect(c.policy.defaults).toMatchObject({ channel: 'C0DEPLOYS', runAfterApproval: 'button' });
    expect(c.policy.sweepEveryMs).toBe(300_000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the replica by REPLICA_ID, else by HOSTNAME (the pod or container), else not at all', () => {
    expect(loadConfig(base).replicaId).toBeNull();
    expect(loadConfig({ ...base, HOSTNAME: 'greenlight-worker-7d9f-x2' }).replicaId).toBe('greenlight-worker-7d9f-x2');
    expect(loadConfig({ ...base, HOSTNAME: 'pod-a', REPLICA_ID: 'worker-0' }).replicaId).toBe('worker-0');
    // a HOSTNAME that would not make a name is no name (a new one per process), never a start failure
    expect(loadConfig({ ...base, HOSTNAME: 'has spaces/and:colons' }).replicaId).toBeNull();
    expect(problemsOf(() => loadConfig({ ...base, REPLICA_ID: 'worker 0' })).join('\n')).toMatch(
      /^REPLICA_ID: must be/,
    );
  });

  it('reports every problem at once, each with what to do', () => {
    const problems = problemsOf(() =>
      loadConfig({ GITLAB_AUTH_MODE: 'oauth', PORT: 'eighty', SLACK_BOT_TOKEN: 'xoxp-user-token' }),
    );
    const text = problems.join('\n');
    for (const name of ['PORT', 'GITLAB_TOKEN', 'GITLAB_WEBHOOK_SECRET', 'SLACK_BOT_TOKEN'])
      expect(text).toContain(name);
    expect(text).toMatch(/SLACK_BOT_TOKEN: must be a bot token \(xoxb-\.\.\.\)/);
    expect(problems.length).toBeGreaterThanOrEqual(4);
  });

  it('requires the OAuth settings (GitLab and Slack), an encryption key and PUBLIC_URL in oauth mode', () => {
    const text = problemsOf(() => loadConfig({ ...base, GITLAB_AUTH_MODE: 'oauth' })).join('\n');
    for (const name of [
      'GITLAB_OAUTH_CLIENT_ID',
      'GITLAB_OAUTH_CLIENT_SECRET',
      'TOKEN_ENCRYPTION_KEY',
      'PUBLIC_URL',
      'SLACK_CLIENT_ID',
      'SLACK_CLIENT_SECRET',
    ])
      expect(text).toContain(`${name}: required in oauth mode`);
  });

  it('reads TRUSTED_PROXIES as addresses and CIDRs, and refuses anything else', () => {
    expect(loadConfig(base).trustedProxies).toEqual([]);
    expect(loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,::1, fd00::/8' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/8',
    ]);
    for (const bad of ['loopback', '10.0.0.0/33', '10.0.0.1/8/1', 'example.com'])
      expect(problemsOf(() => loadConfig({ ...base, TRUSTED_PROXIES: bad })).join()).toMatch(
        /TRUSTED_PROXIES: .* is not an IP address or CIDR/,
      );
  });

  it('accepts rotated encryption keys (new first) and rejects keys that are not 32 bytes', () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const ok = loadConfig({
      ...base,
      GITLAB_AUTH_MODE: 'oauth',
      GITLAB_OAUTH_CLIENT_ID: 'id',
      GITLAB_OAUTH_CLIENT_SECRET: 's',
      SLACK_CLIENT_ID: '1234.5678',
      SLACK_CLIENT_SECRET: 'slack-secret',
      PUBLIC_URL: 'https://gl.acme.test/',
      TOKEN_ENCRYPTION_KEY: `${KEY},${other}`,
    });
    expect(ok.encryptionKeys.map((k) => k.id)).toHaveLength(2);
    expect(ok.encryptionKeys[0]!.id).not.toBe(ok.encryptionKeys[1]!.id);
    expect(ok.publicUrl).toBe('https://gl.acme.test');
    expect(problemsOf(() => loadConfig({ ...base, TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' })).join()).toMatch(
      /not 32 bytes of base64; create one with: openssl rand -base64 32/,
    );
  });

  it('needs a default channel', () => {
    const { SLACK_CHANNEL: _drop, ...noChannel } = base;
    expect(problemsOf(() => loadConfig(noChannel)).join()).toMatch(
      /SLACK_CHANNEL: required, or set `channel` in CONFIG_FILE/,
    );
  });

  it('treats empty variables as unset (as .env files often leave them)', () => {
    expect(loadConfig({ ...base, PORT: '', SLACK_APP_TOKEN: '' }).port).toBe(3000);
  });

  it('reads the policy file: routes inherit the top level, durations and working hours parse', () => {
    const yaml = `
channel: C0DEPLOYS
projects: [acme/web, 42]
groups: [acme]
sweep: { every: 1m }
reminders: { after: 30m, every: 1h, max: 3 }
escalation:
  - { after: 2h, channel: C0ONCALL, mention: ["<!subteam^S0ONCALL>", U0BOSS] }
working_hours: { days: Mon-Fri, from: "09:00", to: "18:00", timezone: Europe/Berlin }
run_after_approval: off
four_eyes: { forbid_commit_author: true }
users:
  - { slack: U0456ALICE, gitlab: alice }
routes:
  - match: { project: "acme/payments/*", environment: "prod*", tier: production }
    channel: C0PAYMENTS
    reminders: { after: 10m, every: 30m, max: 5 }
`;
    const { SLACK_CHANNEL: _drop, ...env } = base;
    const c = loadConfig({ ...env, CONFIG_FILE: 'policy.yml' }, () => yaml);
    expect(c.policy.defaults).toMatchObject({
      channel: 'C0DEPLOYS',
      reminders: { afterMs: 1_800_000, everyMs: 3_600_000, max: 3 },
      escalation: [{ afterMs: 7_200_000, channel: 'C0ONCALL', mention: ['<!subteam^S0ONCALL>', '<@U0BOSS>'] }],
      workingHours: {
        days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'],
        fromMinute: 540,
        toMinute: 1080,
        timezone: 'Europe/Berlin',
      },
      runAfterApproval: 'off',
    });
    expect(c.policy.routes[0]).toEqual({
      match: { project: 'acme/payments/*', environment: 'prod*', tier: 'production' },
      overrides: { channel: 'C0PAYMENTS', reminders: { afterMs: 600_000, everyMs: 1_800_000, max: 5 } },
    });
    expect(c.policy).toMatchObject({
      projects: ['acme/web', 42],
      groups: ['acme'],
      sweepEveryMs: 60_000,
      sweepListEveryMs: 3_600_000,
      sweepClassifyEveryMs: 86_400_000,
      fourEyes: { forbidCommitAuthor: true },
      users: [{ slack: 'U0456ALICE', gitlab: 'alice' }],
    });
  });

  it('explains policy file mistakes with their path', () => {
    const yaml =
      'sweep: { every: soon }\nroutes:\n  - match: {}\n    chanel: C1\n' +
      'working_hours: { from: "18:00", to: "09:00", timezone: Mars/Olympus }\n';
    const problems = problemsOf(() => loadConfig({ ...base, CONFIG_FILE: 'p.yml' }, () => yaml)).join('\n');
    expect(problems).toContain('sweep.every: "soon" is not a duration');
    expect(problems).toContain('routes.0: unknown key chanel');
    expect(problems).toContain('working_hours.timezone: is not an IANA time zone');
  });

  it('reports unreadable and invalid YAML files', () => {
    expect(
      problemsOf(() =>
        loadConfig({ ...base, CONFIG_FILE: '/nope.yml' }, () => {
          throw Object.assign(new Error('x'), { code: 'ENOENT' });
        }),
      ).join(),
    ).toMatch(/cannot read \/nope.yml \(ENOENT\)/);
    expect(problemsOf(() => loadConfig({ ...base, CONFIG_FILE: 'p.yml' }, () => 'routes: [\n')).join()).toMatch(
      /is not valid YAML at line/,
    );
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
  ])('%s = %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
  it.each(['', 'soon', '10', '5 m', '1x'])('rejects %j', (text) => expect(parseDuration(text)).toBeNull());
});
