import { spawn, type ChildProcess } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnGreenlight, type ChildLog, type GreenlightProcess } from '../helpers/child.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWorld, type World } from '../helpers/world.ts';

/**
 * This machine's own non-loopback address: in a container greenlight refuses a loopback REDIS_URL that does not
 * answer before it listens (preflight), and this test is about what happens after. A closed port there refuses at once.
 */
function ownAddress(): string {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return all.find((a) => a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
}

/**
 * The real service started while nothing listens at REDIS_URL: it serves its probes (not ready), says so in one JSON
 * line per attempt, backing off between attempts, and stops at once with 0 on SIGTERM.
 */
describe('Redis unreachable at start', () => {
  let world: World;
  let child: GreenlightProcess | null = null;

  beforeAll(async () => {
    world = await startWorld();
  });
  let redisServer: ChildProcess | null = null;
  afterAll(async () => {
    child?.proc.kill('SIGKILL');
    redisServer?.kill('SIGKILL');
    await world?.close();
  });

  const retryLines = (logs: ChildLog[]) => logs.filter((l) => l.msg === 'redis unreachable; retrying');

  it('logs one JSON line per retry with backoff, answers /readyz 503, and exits 0 on SIGTERM', async () => {
    const closedPort = await freePort();
    child = await spawnGreenlight(
      {
        ...world.env,
        PORT: String(await freePort()),
        REDIS_URL: `redis://${ownAddress()}:${closedPort}`,
        REDIS_PREFIX: 'e2e-redis-down',
        LOG_LEVEL: 'info',
      },
      { ready: [], listenTimeoutMs: 30_000 },
    );
    const ready = await fetch(`${child.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await fetch(`${child.url}/healthz`).then((r) => r.status)).toBe(200);

    // Retries back off (100 ms, 200 ms, ... up to a few seconds apart): by the sixth attempt a fixed 100 ms loop
    // would have made dozens of attempts per connection. Count the lines once the sixth one shows.
    await waitFor(() => retryLines(child!.logs).some((l) => Number(l.attempt) >= 6), {
      what: 'sixth retry line',
      timeoutMs: 20_000,
    });
    const lines = retryLines(child.logs);
    // nothing else repeats: no line per connection, queue and worker for each of their own attempts
    const others = child.logs.filter((l) => (l.level === 'warn' || l.level === 'error') && !lines.includes(l));
    expect(others.length).toBeLessThanOrEqual(new Set(others.map((l) => l.msg)).size);
    expect(others.filter((l) => /ECONNREFUSED/.test(JSON.stringify(l)))).toEqual([]);
    for (const line of lines) {
      expect(line.level).toBe('warn');
      expect(line).toMatchObject({ err: expect.stringContaining('ECONNREFUSED'), nextRetryMs: expect.any(Number) });
    }
    // one line per attempt of one connection: the attempts of all connections together are logged once
    const attempts = lines.map((l) => Number(l.attempt));
    expect(new Set(attempts).size).toBe(attempts.length);
    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    const delays = lines.map((l) => Number(l.nextRetryMs));
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays.at(-1)!).toBeGreaterThan(delays[0]!);

    child.proc.kill('SIGTERM');
    // a guard against a hang only (the forced exit comes after 25 s): the test asserts the code, not the time
    let guard: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      child.exited,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error('no exit 30 s after SIGTERM')), 30_000);
      }),
    ]).finally(() => clearTimeout(guard));
    expect(exit).toEqual({ code: 0, signal: null });

    // Everything it wrote is JSON: nothing raw on stdout (ECONNREFUSED traces), nothing on stderr.
    expect(child.logs.filter((l) => l.level === 'raw')).toEqual([]);
    expect(child.stderr()).toBe('');
    expect(child.logs.some((l) => l.msg === 'greenlight stopped')).toBe(true);
  }, 90_000);

  it('starts its workers once Redis answers, and is ready then', async () => {
    const port = await freePort();
    const address = ownAddress();
    child = await spawnGreenlight(
      {
        ...world.env,
        PORT: String(await freePort()),
        REDIS_URL: `redis://${address}:${port}`,
        REDIS_PREFIX: 'e2e-redis-late',
        LOG_LEVEL: 'info',
      },
      { ready: [], listenTimeoutMs: 30_000 },
    );
    await waitFor(() => retryLines(child!.logs).length >= 2, { what: 'retrying' });
    expect(child.logs.some((l) => l.msg === 'greenlight workers started')).toBe(false);
    // a throwaway Redis on that address only (keeps nothing; protected mode would refuse a non-loopback client)
    redisServer = spawn(
      'redis-server',
      ['--port', String(port), '--bind', address, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await child.waitForLog('greenlight workers started', 20_000);
    await child.waitForLog('redis reachable again');
    expect((await fetch(`${child.url}/readyz`)).status).toBe(200);
    child.proc.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.logs.filter((l) => l.level === 'raw')).toEqual([]);
    expect(child.stderr()).toBe('');
  }, 60_000);
});
