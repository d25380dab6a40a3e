import { describe, expect, it } from 'vitest';
import { COMMANDS, runCli } from '../../../src/cli/cli.ts';

describe('greenlight CLI', () => {
  it('offers doctor, webhooks and audit', () => {
    expect(Object.keys(COMMANDS).sort()).toEqual(['audit', 'doctor', 'webhooks']);
  });

  it('routes `audit` to the audit trail reader (bad arguments: usage error, exit 2)', async () => {
    const err: string[] = [];
    const code = await runCli(['audit', '--since', 'soon'], { env: {}, out: () => {}, err: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/since/);
  });
});
