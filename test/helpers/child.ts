import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { childEnv } from './node-child.ts';
import { waitFor } from './wait.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type ChildLog = { level: string; msg: string; [key: string]: unknown };

/** The real service as a separate process (`node src/main.ts`), for tests that kill it. */
export type GreenlightProcess = {
  proc: ChildProcess;
  url: string;
  logs: ChildLog[];
  /** Everything the process wrote to stderr (start-up failures). */
  stderr(): string;
  waitForLog(msg: string | ((log: ChildLog) => boolean), timeoutMs?: number): Promise<ChildLog>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** A TCP port nobody listens on right now (so that a restarted process can take the same one). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `node src/main.ts` with exactly `env` (plus PATH) and resolves once web and workers are up. */
export async function spawnGreenlight(
  env: Record<string, string>,
  /** `listenTimeoutMs`: how long to wait for it to listen (default 15 s; with Redis unreachable it waits 10 s first) */
  opts: { ready?: string[]; listenTimeoutMs?: number } = {},
): Promise<GreenlightProcess> {
  const proc = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: ChildLog[] = [];
  let errText = '';
  let pending = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as ChildLog);
      } catch {
        logs.push({ level: 'raw', msg: line });
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    errText += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const waitForLog = (msg: string | ((log: ChildLog) => boolean), timeoutMs = 10_000) =>
    waitFor(
      () => {
        const found = logs.find((l) => (typeof msg === 'string' ? l.msg === msg : msg(l)));
        if (!found && dead)
          throw new Error(`greenlight exited early: ${errText || logs.map((l) => l.msg).join(' | ')}`);
        return found;
      },
      { timeoutMs, what: `log ${typeof msg === 'string' ? msg : 'line'}` },
    );
  const listening = await waitForLog('greenlight web listening', opts.listenTimeoutMs ?? 15_000);
  for (const msg of opts.ready ?? ['greenlight workers started']) await waitForLog(msg, 15_000);
  return { proc, url: `http://127.0.0.1:${String(listening.port)}`, logs, stderr: () => errText, waitForLog, exited };
}
