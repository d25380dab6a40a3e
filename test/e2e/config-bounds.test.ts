import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGreenlightProcess } from '../helpers/process.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

describe('policy values that used to fail after start', () => {
  it('are refused before the process listens, every problem at once, in the config-error format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-bounds-'));
    const policy = join(dir, 'policy.yml');
    writeFileSync(
      policy,
      [
        'channel: C0DEPLOYS',
        'sweep: { every: 0s }',
        'reminders: { after: 99999999999d, every: 1h, max: 3 }',
        'escalation:',
        '  - { after: 31d, channel: C0ONCALL }',
        'routes:',
        '  - match: { project: "**a**a**a**a**a**a**a**a**b" }',
        '    channel: C0OTHER',
        '',
      ].join('\n'),
    );
    const proc = startGreenlightProcess('bounds', {
      PORT: '0',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: uniquePrefix('e2e-bounds'),
      GITLAB_TOKEN: 'glpat-x',
      GITLAB_WEBHOOK_SECRET: 'webhook-secret-0123456789abcdef',
      GITLAB_AUTH_MODE: 'sudo',
      SLACK_BOT_TOKEN: 'xoxb-x',
      SLACK_SIGNING_SECRET: 'signing',
      CONFIG_FILE: policy,
      WORKER_STALL_TIMEOUT: '2h',
    });
    const code = await new Promise<number | null>((resolve) => proc.child.once('exit', resolve));
    expect(code).toBe(78);
    expect(proc.logs.map((l) => l.msg)).toEqual([]);
    const stderr = proc.stderr.join('');
    expect(stderr).toMatch(/^greenlight cannot start: 5 configuration problems\n/);
    expect(stderr).toContain(
      `CONFIG_FILE ${policy}: sweep.every: "0s" is out of bounds; write a duration from 1s to 1d`,
    );
    expect(stderr).toContain('reminders.after: "99999999999d" is out of bounds; write a duration from 0s to 30d');
    expect(stderr).toContain('escalation.0.after: "31d" is out of bounds');
    expect(stderr).toContain('routes.0.match.project: "**a**a**a**a**a**a**a**a**b" uses ** inside a path segment');
    expect(stderr).toContain('WORKER_STALL_TIMEOUT: "2h" is not a duration from 1s to 1h');
  });
});
