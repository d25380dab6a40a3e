import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.ts';
import { routeDeployment } from '../../../src/core/routing/route-deployment.ts';

const base = {
  GITLAB_TOKEN: 'glpat-abc',
  GITLAB_WEBHOOK_SECRET: 'a-webhook-secret-of-length',
  GITLAB_AUTH_MODE: 'sudo',
  SLACK_BOT_TOKEN: 'xoxb-1-2-3',
  SLACK_SIGNING_SECRET: 'signing',
  SLACK_CHANNEL: 'C0DEPLOYS',
};
const load = (yaml: string) => loadConfig({ ...base, CONFIG_FILE: 'p.yml' }, () => yaml);
const problems = (yaml: string) => {
  try {
    load(yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('reminder policy in the policy file', () => {
  const yaml = `
reminders: { after: 1s, every: 1s, max: 2 }
escalation:
  - { after: 500ms, channel: C0ONCALL, mention: ["<!subteam^S0ONCALL>"] }
working_hours: { days: "Mon-Fri", from: "09:00", to: "24:00", timezone: America/New_York }
routes:
  - match: { environment: "prod*" }
    working_hours: off
    escalation: []
  - match: { tier: staging }
    reminders: off
`;

  it('inherits the top level per route; a route can turn working hours, reminders or escalation off', () => {
    const { policy } = load(yaml);
    const subject = (environment: string, tier: string | null = null) =>
      routeDeployment(policy, { projectPath: 'acme/web', environment, tier });
    expect(subject('review')).toMatchObject({
      reminders: { afterMs: 1_000, everyMs: 1_000, max: 2 },
      escalation: [{ afterMs: 500, channel: 'C0ONCALL', mention: ['<!subteam^S0ONCALL>'] }],
      workingHours: {
        days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'],
        fromMinute: 540,
        toMinute: 1440,
        timezone: 'America/New_York',
      },
    });
    expect(subject('production')).toMatchObject({ reminders: { afterMs: 1_000 }, escalation: [], workingHours: null });
    expect(subject('qa', 'staging')).toMatchObject({ reminders: null, workingHours: { timezone: 'America/New_York' } });
  });

  it('refuses working hours without a day, and explains', () => {
    expect(problems('working_hours: { days: [], from: "09:00", to: "18:00", timezone: UTC }\n')).toContain(
      'working_hours.days: name at least one day',
    );
    expect(problems('working_hours: { days: Mon, from: "9am", to: "18:00", timezone: UTC }\n')).toContain(
      'working_hours.from: "9am" is not a time of day',
    );
    expect(
      problems(
        'reminders: { after: soon }\nroutes:\n  - match: {}\n    working_hours: { from: "09:00", to: "18:00" }\n',
      ),
    ).toMatch(/reminders\.after: "soon" is not a duration[\s\S]*routes\.0\.working_hours\.timezone: Invalid input/);
  });
});
