import { describe, expect, it } from 'vitest';
import { auditCommand } from '../../../src/cli/audit.ts';

const run = async (argv: string[], env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await auditCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out, err };
};

describe('audit command arguments', () => {
  it('prints usage for --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/--since 24h/);
  });

  it.each([[['--since', 'yesterday']], [['--until', 'soon']], [['--limit', '0']], [['--bogus']], [['positional']]])(
    'refuses %j with exit code 2 and the usage',
    async (argv) => {
      const { code, err } = await run(argv);
      expect(code).toBe(2);
      expect(err.join('\n')).toMatch(/usage: audit/);
    },
  );

  it('reports configuration problems like the service does (exit 78)', async () => {
    const { code, err } = await run(['--since', '1h'], {});
    expect(code).toBe(78);
    expect(err.join('\n')).toMatch(/GITLAB_TOKEN: required/);
  });
});
