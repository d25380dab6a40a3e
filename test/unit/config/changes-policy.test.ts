import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.ts';
import { routeDeployment } from '../../../src/core/routing/route-deployment.ts';

const env = {
  GITLAB_TOKEN: 'glpat-abc',
  GITLAB_WEBHOOK_SECRET: 'a-webhook-secret-of-length',
  GITLAB_AUTH_MODE: 'sudo',
  SLACK_BOT_TOKEN: 'xoxb-1-2-3',
  SLACK_SIGNING_SECRET: 'signing',
  SLACK_CHANNEL: 'C0DEPLOYS',
  CONFIG_FILE: 'policy.yml',
};
const subject = (projectPath: string) => ({ projectPath, environment: 'production', tier: 'production' });

describe('policy: changes', () => {
  it('is on unless said otherwise, and a route turns it off (YAML off, "off" or false)', () => {
    for (const off of ['off', '"off"', 'false']) {
      const c = loadConfig(env, () => `routes:\n  - match: { project: acme/monorepo }\n    changes: ${off}\n`);
      expect(routeDeployment(c.policy, subject('acme/monorepo')).changes).toBe('off');
      expect(routeDeployment(c.policy, subject('acme/web')).changes).toBe('on');
    }
  });

  it('can be off at the top level and on again for one route', () => {
    const c = loadConfig(env, () => 'changes: off\nroutes:\n  - match: { project: acme/web }\n    changes: on\n');
    expect(routeDeployment(c.policy, subject('acme/other')).changes).toBe('off');
    expect(routeDeployment(c.policy, subject('acme/web')).changes).toBe('on');
  });

  it('refuses anything else, saying what it accepts', () => {
    let problems: string[] = [];
    try {
      loadConfig(env, () => 'changes: sometimes\n');
    } catch (error) {
      if (error instanceof ConfigError) problems = [...error.problems];
    }
    expect(problems.join('\n')).toMatch(/changes/);
  });
});
