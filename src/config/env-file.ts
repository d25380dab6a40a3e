import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { envVars } from './env-schema.ts';

/**
 * The `.env` file that `npm start` (node --env-file) and the CLI read. Node's parser, like dotenv, takes an
 * unquoted `#` as the start of a comment: `SLACK_CHANNEL=#deployments` sets SLACK_CHANNEL to "", which
 * loadConfig would then report as "required". These helpers find such lines, and write the file the setup
 * page produces.
 */

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/** Settings of greenlight whose value in the file starts with an unquoted `#`, each explained. */
export function envFileProblems(text: string, file = '.env'): string[] {
  const problems: string[] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const match = LINE.exec(line);
    if (!match || !Object.hasOwn(envVars, match[1]!)) continue;
    const [, name, value] = match as unknown as [string, string, string];
    if (!value.startsWith('#')) continue;
    const hint =
      name === 'SLACK_CHANNEL'
        ? 'write the channel ID instead (C0123ABCD: channel details > About, at the bottom)'
        : `put the value in quotes: ${name}="${value}"`;
    problems.push(
      `${name}: line ${index + 1} of ${file} is ${name}=${value}, but # starts a comment in .env files, ` +
        `so ${name} is empty; ${hint}.`,
    );
  }
  return problems;
}

/** The problems of the `.env` at `path`, or none when there is no such file. */
export function envFileProblemsAt(path: string): string[] {
  return existsSync(path) ? envFileProblems(readFileSync(path, 'utf8'), path) : [];
}

export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const parsed = parseEnv(readFileSync(path, 'utf8'));
  return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => e[1] !== undefined));
}

/** A value as the .env parser reads it back unchanged: bare when safe, else double-quoted. */
function formatValue(value: string): string {
  if (/^[A-Za-z0-9_./:@,+=-]*$/.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * Writes `values` into the .env at `path`: lines of these settings are replaced where they are, the others
 * appended under a comment; every other line stays as it was. The file is readable by its owner only
 * (mode 600): it holds tokens. Written to a temporary file first, so a crash never leaves half a file.
 */
export function writeEnvFile(path: string, values: Record<string, string>, note: string): void {
  const existing = existsSync(path) ? readFileSync(path, 'utf8').split(/\r?\n/) : [];
  const pending = new Map(Object.entries(values));
  const lines = existing.map((line) => {
    const name = LINE.exec(line)?.[1];
    if (name === undefined || !pending.has(name)) return line;
    const value = pending.get(name)!;
    pending.delete(name);
    return `${name}=${formatValue(value)}`;
  });
  while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
  if (pending.size > 0) {
    if (lines.length > 0) lines.push('');
    lines.push(`# ${note}`);
    for (const [name, value] of pending) lines.push(`${name}=${formatValue(value)}`);
  }
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
