import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

export type LocalCluster = {
  ports: number[];
  url: string;
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
};

/**
 * A throwaway three-node Redis Cluster on loopback (no replicas, no persistence): redis-server with
 * --cluster-enabled on free ports (the cluster bus takes port + 10000 too), joined by redis-cli --cluster create.
 * stop() ends the servers it started and removes their directory.
 */
export async function startRedisCluster(nodes = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-cluster-'));
  const ports: number[] = [];
  while (ports.length < nodes) {
    const port = await freePort();
    if (port + 10_000 < 65_536 && !ports.includes(port) && (await isFree(port + 10_000))) ports.push(port);
  }
  const servers: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '5000',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    ),
  );
  const cli = async (port: number, ...args: string[]) =>
    (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 15_000 })).stdout;
  const stop = async () => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.exitCode !== null || s.signalCode !== null) return resolve();
            s.once('exit', () => resolve());
            s.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports)
      await waitFor(async () => (await cli(port, 'ping')).trim() === 'PONG', {
        what: `redis-server on ${port}`,
        timeoutMs: 10_000,
      });
    await run(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    for (const port of ports)
      await waitFor(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'), {
        what: `cluster state ok on ${port}`,
        timeoutMs: 15_000,
      });
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), cli, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
