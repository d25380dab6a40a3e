import { runCli } from '../../src/cli/cli.ts';
import type { CliIo } from '../../src/cli/io.ts';

export type CliRun = { code: number; out: string; err: string };

/** Runs `greenlight <argv>` in-process with this environment, capturing what it prints. */
export async function runGreenlight(argv: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { env, out: (t) => out.push(t), err: (t) => err.push(t) };
  const code = await runCli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
