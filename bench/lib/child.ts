import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

/**
 * A Node process under test (the app, or the bare baseline server), started apart from the bench process so
 * that its memory and CPU can be read on their own from /proc/<pid>.
 */
export type ChildServer = {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly logFile: string;
  /** Resident memory now (bytes), null where /proc is not available. */
  rss(): number | null;
  /** CPU time (user + system, ms) the process has used so far, null without /proc. */
  cpuMs(): number | null;
  /** Peak resident memory of the process's life so far (VmHWM). */
  peakRss(): number | null;
  /** SIGTERM, then wait for the exit (graceful shutdown). Resolves with the exit code. */
  stop(): Promise<number | null>;
  exited(): boolean;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function readProcStatus(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** utime + stime of /proc/<pid>/stat, in ms (USER_HZ is 100 on Linux). */
export function readProcCpuMs(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: 1000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function startChild(opts: {
  script: string;
  env: Record<string, string>;
  logFile: string;
  nodeArgs?: string[];
  /** GET path that answers 200 once the process is ready */
  readyPath: string;
  cwd: string;
  timeoutMs?: number;
}): Promise<ChildServer> {
  const port = await freePort();
  const fd = openSync(opts.logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.script], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env, PORT: String(port) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exitCode: number | null | undefined;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve((exitCode = code ?? (signal ? 128 : null)))),
  );
  const pid = child.pid!;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(`${opts.script} exited with ${exitCode} before it was ready:\n${tail(opts.logFile)}`);
    if ((await httpStatus(url + opts.readyPath)) === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.script} was not ready after ${opts.timeoutMs ?? 20_000} ms:\n${tail(opts.logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    pid,
    port,
    url,
    logFile: opts.logFile,
    rss: () => readProcStatus(pid)?.rss ?? null,
    peakRss: () => readProcStatus(pid)?.hwm ?? null,
    cpuMs: () => readProcCpuMs(pid),
    exited: () => exitCode !== undefined,
    async stop() {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Samples a child's RSS at a fixed interval; `peak` is the highest sample since the last `reset`. */
export class RssSampler {
  #timer: NodeJS.Timeout | null = null;
  #peak = 0;
  readonly #child: ChildServer;
  constructor(child: ChildServer, intervalMs = 50) {
    this.#child = child;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }
  sample(): number | null {
    const rss = this.#child.rss();
    if (rss !== null && rss > this.#peak) this.#peak = rss;
    return rss;
  }
  reset(): void {
    this.#peak = 0;
    this.sample();
  }
  get peak(): number | null {
    this.sample();
    return this.#peak || null;
  }
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
