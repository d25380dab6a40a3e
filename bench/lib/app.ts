import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupPrefix, TEST_REDIS_URL } from '../../test/helpers/redis.ts';
import { RssSampler, startChild, type ChildServer } from './child.ts';
import type { BenchWorld } from './world.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type BenchContext = {
  /** scratch directory: logs, policy files, CPU profiles */
  dir: string;
  /** write a V8 CPU profile of every app process into dir (node --cpu-prof) */
  profile: boolean;
  /** checkout whose app is measured (default: this one) */
  appDir: string;
  /** the app's entry point in appDir: src/main.ts, or dist/main.js of a build */
  entry: string;
  /** node options for the app process, e.g. --max-semi-space-size=4 */
  nodeArgs: string[];
  log(line: string): void;
};

export type AppChild = {
  child: ChildServer;
  sampler: RssSampler;
  url: string;
  prefix: string;
  /** RSS once started and settled */
  idleRss: number | null;
  /** `keepData`: leave the Redis prefix for another process to start on (a restart). */
  stop(opts?: { keepData?: boolean }): Promise<{ exitCode: number | null; peakRss: number | null }>;
};

/**
 * The real app as a separate process (`node src/main.ts`), configured only through its environment: its own
 * Redis prefix (deleted on stop), the fakes' URLs and credentials, and the bench policy file.
 */
export async function startApp(
  ctx: BenchContext,
  world: BenchWorld,
  opts: { name: string; role: 'all' | 'web' | 'worker'; settleMs: number; prefix?: string },
): Promise<AppChild> {
  const prefix = opts.prefix ?? `glbench-${opts.name}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const policyFile = join(ctx.dir, `${opts.name}-policy.yml`);
  writeFileSync(policyFile, world.policy);
  const child = await startChild({
    script: ctx.entry,
    cwd: ctx.appDir,
    env: {
      ...world.env,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      ROLE: opts.role,
      LOG_LEVEL: 'info',
      CONFIG_FILE: policyFile,
      NODE_ENV: 'production',
      // diagnostics only, e.g. BENCH_APP_ENV="LOG_LEVEL=warn" (never set by the bench itself)
      ...Object.fromEntries(
        (process.env.BENCH_APP_ENV ?? '')
          .split(' ')
          .filter(Boolean)
          .map((kv) => [kv.split('=')[0], kv.split('=').slice(1).join('=')]),
      ),
    },
    logFile: join(ctx.dir, `${opts.name}.log`),
    nodeArgs: [
      ...ctx.nodeArgs,
      ...(ctx.profile
        ? ['--cpu-prof', '--cpu-prof-dir', join(ctx.dir, 'profiles'), '--cpu-prof-name', `${opts.name}.cpuprofile`]
        : []),
      // diagnostics only, e.g. BENCH_APP_NODE_ARGS=--trace-gc (never set by the bench itself)
      ...(process.env.BENCH_APP_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    readyPath: '/readyz',
  });
  const sampler = new RssSampler(child);
  await new Promise((resolve) => setTimeout(resolve, opts.settleMs));
  const idleRss = child.rss();
  sampler.reset();
  return {
    child,
    sampler,
    url: child.url,
    prefix,
    idleRss,
    async stop(stopOpts = {}) {
      const peakRss = Math.max(sampler.peak ?? 0, child.peakRss() ?? 0) || null;
      sampler.stop();
      const exitCode = await child.stop();
      if (!stopOpts.keepData) await cleanupPrefix(prefix);
      return { exitCode, peakRss };
    },
  };
}
