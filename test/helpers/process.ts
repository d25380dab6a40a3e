import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnv } from './node-child.ts';
import { waitFor } from './wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type LogLine = { msg: string; [key: string]: unknown };

/** A greenlight process (`node src/main.ts`) with its own environment; its JSON log lines are collected. */
export type GreenlightProcess = {
  name: string;
  child: ChildProcess;
  logs: LogLine[];
  stderr: string[];
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then waits for the graceful exit; resolves to the exit code. */
  stop(): Promise<number | null>;
};

export function startGreenlightProcess(name: string, env: Record<string, string>): GreenlightProcess {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    logs,
    stderr,
    waitForLog: (msg, timeoutMs = 15_000) =>
      waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr.join('')}`);
          return logs.find((l) => l.msg === msg);
        },
        { timeoutMs, what: `"${msg}" from ${name}` },
      ),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
