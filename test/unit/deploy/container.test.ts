import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVars } from '../../../src/config/env-schema.ts';
import { createHttpApp } from '../../../src/entrypoints/http/app.ts';
import type { Server } from 'node:http';

/** No Docker engine in CI: these read the Dockerfile and docker-compose.yml and check what matters. */
const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const dockerfile = read('Dockerfile');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.trim().startsWith('#'))
  .map((l) => l.trim());
const stages = instructions.filter((l) => l.startsWith('FROM '));
const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  read_only?: boolean;
};
const compose = parseYaml(read('docker-compose.yml')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

describe('Dockerfile', () => {
  it('builds in a build stage and runs from node:24-slim as a non-root user', () => {
    expect(stages).toEqual(['FROM node:24-slim AS build', 'FROM node:24-slim AS runtime']);
    expect(runtime).toContain('USER node');
    expect(runtime.filter((l) => l.startsWith('COPY --from=build')).map((l) => l.split(' ').at(-2))).toEqual([
      '/app/node_modules',
      '/app/dist',
    ]);
    expect(instructions.some((l) => l.includes('npm prune --omit=dev'))).toBe(true);
    expect(runtime.at(-1)).toBe(
      'CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "--optimize-for-size", "dist/main.js"]',
    );
    expect(runtime).toContain('EXPOSE 3000');
  });

  it('starts Node with the same V8 options as npm start (the ones BENCHMARKS.md measures)', () => {
    const cmd = JSON.parse(runtime.at(-1)!.slice('CMD '.length)) as string[];
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!.split(/\s+/);
    const nodeOptions = (words: string[]) =>
      words.slice(words.indexOf('node') + 1, words.indexOf('dist/main.js')).filter((w) => !w.startsWith('--env-file'));
    expect(nodeOptions(cmd)).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=20', '--optimize-for-size']);
    expect(nodeOptions(start)).toEqual(nodeOptions(cmd));
  });

  it('keeps the build context small', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.env', 'test', '.git', 'charts']) expect(ignored).toContain(entry);
  });

  describe('HEALTHCHECK', () => {
    const healthcheck = runtime.find((l) => l.startsWith('HEALTHCHECK'))!;
    const script = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
    let server: Server;
    let port: number;
    beforeAll(async () => {
      const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
      const app = createHttpApp({ logger: quiet, ready: async () => true });
      server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, () => resolve(s));
      });
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('asks /healthz on PORT: exit 0 when it answers, 1 when not', async () => {
      expect(healthcheck).toMatch(/--interval=\d+s --timeout=\d+s/);
      expect(script.slice(0, 2)).toEqual(['node', '-e']);
      const run = (env: Record<string, string>) =>
        promisify(execFile)(process.execPath, script.slice(1), {
          env: { ...env, PATH: process.env.PATH ?? '' },
          timeout: 10_000,
        }).then(
          () => 0,
          (e: { code?: number }) => e.code ?? -1,
        );
      expect(await run({ PORT: String(port) })).toBe(0);
      expect(await run({ PORT: '1' })).toBe(1);
    });
  });
});

describe('docker-compose.yml', () => {
  const { greenlight, redis } = compose.services;

  it('runs Redis with AOF persistence on a volume and noeviction', () => {
    const command = redis!.command!.join(' ');
    expect(redis!.image).toMatch(/^redis:7/);
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(redis!.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(redis!.healthcheck!.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  /** Compose's variable substitution: ${VAR:-default} (unset or empty: default), ${VAR:+alternative}. */
  const interpolate = (text: string, vars: Record<string, string>) =>
    text.replace(/\$\{([A-Z_]+)(:[-+])([^}]*)\}/g, (_, name: string, op: string, word: string) => {
      const set = (vars[name] ?? '') !== '';
      return op === ':-' ? (set ? vars[name]! : word) : set ? word : '';
    });

  it('mounts the policy file that CONFIG_FILE in .env names, and has none without it', () => {
    const rendered = (vars: Record<string, string>) =>
      (parseYaml(interpolate(read('docker-compose.yml'), vars)) as typeof compose).services.greenlight!;
    const withPolicy = rendered({ CONFIG_FILE: './greenlight.yml' });
    expect(withPolicy.environment!.CONFIG_FILE).toBe('/etc/greenlight/policy.yml');
    expect(withPolicy.volumes).toContain('./greenlight.yml:/etc/greenlight/policy.yml:ro');
    const without = rendered({});
    // an empty CONFIG_FILE is no policy file (loadConfig treats empty variables as unset)
    expect(without.environment!.CONFIG_FILE).toBe('');
    expect(without.volumes).toContain('/dev/null:/etc/greenlight/policy.yml:ro');
  });

  it('docker run examples point REDIS_URL away from the container itself', () => {
    const runs = [read('Dockerfile'), read('README.md')]
      .join('\n')
      .replace(/\\\n#?\s*/g, ' ')
      .split('\n')
      .filter((l) => /docker run --env-file/.test(l));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const line of runs) expect(line).toMatch(/-e REDIS_URL=redis:\/\/host\.docker\.internal:6379/);
  });

  it('starts greenlight from the Dockerfile, after Redis is healthy, with settings the schema knows', () => {
    expect(greenlight!.build).toBe('.');
    expect(greenlight!.env_file).toBe('.env');
    expect(greenlight!.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(greenlight!.environment!.REDIS_URL).toBe('redis://redis:6379');
    for (const name of Object.keys(greenlight!.environment!)) expect(Object.keys(envVars)).toContain(name);
    expect(greenlight!.ports).toEqual([`${greenlight!.environment!.PORT}:3000`]);
    // longer than the 25 s greenlight takes at most to finish in-flight work
    expect(Number.parseInt(greenlight!.stop_grace_period!, 10)).toBeGreaterThan(25);
    expect(greenlight!.read_only).toBe(true);
  });
});
