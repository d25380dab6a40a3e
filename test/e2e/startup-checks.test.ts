import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { preflight } from '../../src/setup/preflight.ts';
import { childEnv } from '../helpers/node-child.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { startWorld, type World } from '../helpers/world.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** `node src/main.ts` (what npm start runs) with exactly this environment, from `cwd`; its exit code and stderr. */
function start(env: Record<string, string>, opts: { cwd?: string; envFile?: boolean } = {}) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const args = opts.envFile ? ['--env-file=.env', MAIN] : [MAIN];
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd ?? tmpdir(),
      env: childEnv({ PORT: '0', REDIS_URL: TEST_REDIS_URL, ...env }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    // a start that passes the checks runs on: it is stopped once it listens, which the test then sees as a signal
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/**
 * Start-up refuses what would only fail later, and names the variable: tokens GitLab or Slack refuse, the
 * .env.example placeholders, a REDIS_URL without a scheme, `#` values in .env, and a container's own loopback
 * as Redis. (Before: Bolt's bare "invalid_auth", a start that failed at the first webhook, "required" for a
 * value that was there.)
 */
describe('start-up checks', () => {
  let world: World;
  let env: Record<string, string>;
  beforeAll(async () => {
    world = await startWorld();
    env = { ...world.env, REDIS_PREFIX: uniquePrefix('startup') };
  });
  afterAll(async () => {
    await world?.close();
  });

  it('a bot token Slack refuses stops the start with SLACK_BOT_TOKEN named, exit 78', async () => {
    const run = await start({ ...env, SLACK_BOT_TOKEN: 'xoxb-0001-not-the-right-token' });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/SLACK_BOT_TOKEN: Slack refuses it \(invalid_auth\): copy the Bot User OAuth Token/);
  });

  it('a GitLab token GitLab refuses stops the start (not the first webhook), GITLAB_TOKEN named', async () => {
    const run = await start({ ...env, GITLAB_TOKEN: 'glpat-revoked-or-mistyped-0001' });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/GITLAB_TOKEN: GitLab at http:\/\/127\.0\.0\.1:\d+ refuses it \(401/);
  });

  it('explains SLACK_CHANNEL=#deployments in .env (# starts a comment there), not "required"', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'greenlight-envfile-'));
    try {
      const { SLACK_CHANNEL: _, ...rest } = env;
      writeFileSync(join(cwd, '.env'), 'LOG_LEVEL=info\nSLACK_CHANNEL=#deployments\n');
      const run = await start(rest, { cwd, envFile: true });
      expect(run.code).toBe(78);
      expect(run.stderr).toContain(
        'SLACK_CHANNEL: line 2 of .env is SLACK_CHANNEL=#deployments, but # starts a comment in .env files, so ' +
          'SLACK_CHANNEL is empty; write the channel ID instead',
      );
      expect(run.stderr).not.toMatch(/SLACK_CHANNEL: required/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('refuses the .env.example placeholders and a REDIS_URL without its scheme, each named', () => {
    const problems = (over: Record<string, string>) => {
      try {
        loadConfig({ ...env, ...over });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problems({ SLACK_BOT_TOKEN: 'xoxb-' })).toMatch(/SLACK_BOT_TOKEN: is only the beginning of a bot token/);
    expect(problems({ PUBLIC_URL: 'https://greenlight.example.com' })).toMatch(
      /PUBLIC_URL: is the placeholder from \.env\.example/,
    );
    expect(problems({ REDIS_URL: 'localhost:6379' })).toMatch(/REDIS_URL: must start with redis:\/\/ or rediss:\/\//);
    expect(problems({ REDIS_MODE: 'cluster', REDIS_URL: 'redis://a:6379,b:6379' })).toMatch(/REDIS_URL: must start/);
    expect(problems({ SLACK_CHANNEL: '#deployments' })).toMatch(
      /SLACK_CHANNEL: must be a channel ID like C0123ABCD, not a #name/,
    );
    expect(problems({ REDIS_URL: 'rediss://user:pw@redis.acme.test:6380' })).toBe('');
  });

  it("refuses, in a container, a REDIS_URL on the container's own loopback where no Redis answers", async () => {
    const config = loadConfig({ ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    const inContainer = await preflight(config, { inContainer: () => true, timeoutMs: 500 });
    expect(inContainer.problems).toEqual([
      expect.stringMatching(
        /^REDIS_URL: 127\.0\.0\.1 inside a container is the container itself.*host\.docker\.internal/,
      ),
    ]);
    // on a machine, or with a Redis answering there (a sidecar), nothing to say
    expect((await preflight(config, { inContainer: () => false })).problems).toEqual([]);
    const answering = loadConfig({ ...env, REDIS_URL: TEST_REDIS_URL });
    expect((await preflight(answering, { inContainer: () => true })).problems).toEqual([]);
  });
});
