/**
 * What a CLI command may touch: its environment and two output streams. Commands take it as an argument
 * (tests pass their own), so nothing reads process.env or writes to the console directly.
 */
export type CliIo = {
  env: Record<string, string | undefined>;
  /** the .env file `env` was read from, when there is one (its `NAME=#...` lines are reported) */
  envFile?: string;
  out(text: string): void;
  err(text: string): void;
};

/** A CLI command: argv after the command name; resolves to the process exit code. */
export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

/** Exit codes: 0 fine, 1 a check or action failed, 2 wrong usage, 78 configuration invalid (EX_CONFIG). */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 78 } as const;

export function processIo(envFile?: string): CliIo {
  return {
    env: process.env,
    ...(envFile !== undefined && { envFile }),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
}
