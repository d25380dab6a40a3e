import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Samples of `name` in Prometheus text exposition whose labels include `labels`. */
export function samples(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) out.push({ labels: found, value: Number(match[3]) });
  }
  return out;
}

/** The value of the first matching sample. */
export const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined =>
  samples(text, name, labels)[0]?.value;

/** The sum of every matching sample. */
export const total = (text: string, name: string, labels: Record<string, string> = {}): number =>
  samples(text, name, labels).reduce((sum, s) => sum + s.value, 0);

/**
 * Prometheus's own linter on a /metrics body: `promtool check metrics` (scripts/bootstrap.sh unpacks it from
 * Debian's prometheus package into .tools/prometheus). Returns promtool's problems, one per line; [] = clean.
 */
export function promtoolProblems(text: string): string[] {
  const local = join(dirname(fileURLToPath(import.meta.url)), '../../.tools/prometheus/usr/bin/promtool');
  const binary = existsSync(local) ? local : 'promtool';
  const run = spawnSync(binary, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error)
    throw new Error(`promtool is not available (${run.error.message}): run scripts/bootstrap.sh, which unpacks it`);
  return `${run.stdout}${run.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
