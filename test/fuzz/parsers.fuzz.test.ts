import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { parseDuration } from '../../src/config/duration.ts';
import { HOOK_SCHEMAS, parseGitLabTime, parseHook, type HookName } from '../../src/entrypoints/http/webhook-events.ts';
import { ButtonValueText, parseClick, RejectMetadata } from '../../src/entrypoints/slack/payloads.ts';
import { validateReason } from '../../src/entrypoints/slack/listeners/reject-modal.ts';
import { jsonBody, mutated, oddValue } from './arbitraries.ts';
import { CLICK_EXAMPLE, HOOK_EXAMPLES } from './examples.ts';

const POLICY_EXAMPLE = {
  channel: 'C0DEPLOYS',
  projects: ['acme/web', 42],
  groups: ['acme'],
  sweep: { every: '5m' },
  reminders: { after: '30m', every: '1h', max: 3 },
  escalation: [{ after: '2h', channel: 'C0ONCALL', mention: ['<!subteam^S0ONCALL>'] }],
  working_hours: { days: 'Mon-Fri', from: '09:00', to: '18:00', timezone: 'Europe/Berlin' },
  run_after_approval: 'button',
  four_eyes: { forbid_commit_author: false },
  users: [{ slack: 'U0456ALICE', gitlab: 'alice' }],
  routes: [
    {
      match: { project: 'acme/payments/*', environment: 'prod*', tier: 'production' },
      channel: 'C0PAYMENTS',
      reminders: { after: '10m', every: '30m', max: 5 },
    },
  ],
};

const ENV = {
  GITLAB_TOKEN: 'glpat-fuzz',
  GITLAB_WEBHOOK_SECRET: 'fuzz-webhook-secret-0123',
  GITLAB_AUTH_MODE: 'sudo',
  SLACK_BOT_TOKEN: 'xoxb-fuzz',
  SLACK_SIGNING_SECRET: 'fuzz-signing',
  CONFIG_FILE: '/policy.yml',
};

const RUNS = { numRuns: 200 };

describe('fuzz: parsers never crash and always say why', () => {
  it('GitLab webhook bodies: parsed or refused with a reason', () => {
    const names = Object.keys(HOOK_SCHEMAS) as HookName[];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.constantFrom(...names),
        fc.oneof(oddValue, ...names.map((n) => mutated(HOOK_EXAMPLES[n]))),
        (name, _other, body) => {
          const result = parseHook(name, body);
          if (result.ok) expect(result.event.projectId).toBeGreaterThan(0);
          else expect(result.reason).toMatch(new RegExp(`^${name} payload: `));
        },
      ),
      RUNS,
    );
  });

  it('GitLab times: a number or null', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.date({ noInvalidDate: false }).map((d) => String(d)),
          fc.constantFrom('2026-11-23 10:00:00 +0100', '9999-99-99 99:99:99 +9999'),
        ),
        (text) => {
          const t = parseGitLabTime(text);
          expect(t === null || Number.isFinite(t)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('Slack interaction payloads: a click with positive ids, or null', () => {
    fc.assert(
      fc.property(fc.oneof(oddValue, mutated(CLICK_EXAMPLE)), (body) => {
        const click = parseClick(body);
        if (click) {
          expect(Number.isSafeInteger(click.deploymentId) && click.deploymentId > 0).toBe(true);
          expect(Number.isSafeInteger(click.projectId) && click.projectId > 0).toBe(true);
          expect(typeof click.userId).toBe('string');
        }
      }),
      RUNS,
    );
  });

  it('button values and modal metadata: parsed or refused, never thrown', () => {
    fc.assert(
      fc.property(
        fc.oneof(jsonBody({ d: 7, p: 1, v: 2 }), jsonBody({ d: 7, p: 1, c: 'C0123DEPLOY', ts: '1.2' }), oddValue),
        (value) => {
          for (const schema of [ButtonValueText, RejectMetadata]) {
            const parsed = schema.safeParse(value);
            if (parsed.success) expect(parsed.data.d).toBeGreaterThan(0);
            else expect(parsed.error.issues.length).toBeGreaterThan(0);
          }
        },
      ),
      RUNS,
    );
  });

  it('rejection reasons: accepted within GitLab limits, or an error to show in the form', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 400 }), fc.constantFrom(null, undefined, '   ', 'ok', '\u0000\u0000\u0000')),
        (raw) => {
          const checked = validateReason(raw);
          if (checked.ok) expect(checked.reason.length).toBeGreaterThanOrEqual(3);
          else expect(checked.error).toMatch(/\S/);
        },
      ),
      RUNS,
    );
  });

  it('durations: milliseconds or null', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^(\d{1,6}(\.\d{1,3})?(ms|s|m|h|d)){1,3}$/)), (text) => {
        const ms = parseDuration(text);
        expect(ms === null || (Number.isFinite(ms) && ms >= 0)).toBe(true);
      }),
      RUNS,
    );
  });

  it('policy files: unknown tags and alias bombs are problems, not silent strings or hangs (found by fuzzing)', () => {
    const problems = (text: string) => {
      try {
        loadConfig(ENV, () => text);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems('channel: !E C0DEPLOYS\n')).toEqual([
      expect.stringMatching(/^CONFIG_FILE: \/policy.yml is not valid YAML at line 1: .*tag/),
    ]);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    expect(problems(bomb)).toEqual([expect.stringMatching(/is not valid YAML.*alias/i)]);
  });

  it('policy files: a configuration, or a ConfigError that names the problems', () => {
    const yamlText = fc.oneof(
      { weight: 4, arbitrary: mutated(POLICY_EXAMPLE).map((v) => stringify(v)) },
      { weight: 1, arbitrary: oddValue.map((v) => stringify(v)) },
      { weight: 1, arbitrary: fc.string() },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'channel: [unclosed',
          '{{{',
          ': : :',
          '- - -',
          'a: &x\n  b: *x',
          '!!binary x',
          'sweep: { every: -5m }',
        ),
      },
    );
    fc.assert(
      fc.property(yamlText, (text) => {
        try {
          const config = loadConfig(ENV, () => text);
          expect(config.policy.defaults.channel).toMatch(/^[CGD]/);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).problems.length).toBeGreaterThan(0);
          for (const p of (error as ConfigError).problems) expect(p).toMatch(/^(CONFIG_FILE|SLACK_CHANNEL)/);
        }
      }),
      { numRuns: 200 },
    );
  });
});
