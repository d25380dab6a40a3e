import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../test/helpers/redis.ts';
import { REPO_ROOT, startApp, type BenchContext } from './lib/app.ts';
import { startBenchWorld } from './lib/world.ts';
import { runCards, type CardsResult, type CardsSizes } from './scenarios/cards.ts';
import { runIntake, type IntakeResult, type IntakeSizes } from './scenarios/intake.ts';
import { runForged, type ForgedResult, type ForgedSizes } from './scenarios/forged.ts';
import { runScale, type ScaleResult, type ScaleSizes } from './scenarios/scale.ts';

export type BenchOptions = {
  /** tiny sizes: seconds instead of minutes (CI keeps the harness working with it) */
  smoke?: boolean;
  /** scratch directory for logs and profiles (default bench/out) */
  dir?: string;
  /** node --cpu-prof on every app process; profiles land in <dir>/profiles */
  profile?: boolean;
  /** only these scenarios: exact names (cards-1000) or groups (intake, cards, paced); default all */
  only?: string[];
  /** measure the app of another checkout (a directory with src/ and package.json; see prepareRef) */
  appDir?: string;
  /** what appDir is, for the report (e.g. "git ref main") */
  appLabel?: string;
  /**
   * The scale scenario also measures this checkout (see prepareRef), before the app under test: today's code
   * side by side with the working tree.
   */
  against?: { appDir: string; label: string };
  /** the scale scenario's sweep interval instead of the plan's (shortened: faster runs, figures scaled) */
  scaleIntervalMs?: number;
  /** settings for the measured app of the scale scenario (not the carding one), e.g. a sweep budget */
  scaleEnv?: Record<string, string>;
  log?(line: string): void;
};

export type Machine = {
  cpu: string;
  cores: number;
  ramGb: number;
  os: string;
  node: string;
  redis: string;
  commit: string;
  date: string;
  loadStart: number;
  loadEnd: number;
};

export type BenchResults = {
  smoke: boolean;
  machine: Machine;
  intake: IntakeResult | null;
  /** RSS before and after forged webhooks with random headers (issue 14) */
  forged: ForgedResult | null;
  cards: { name: string; result: CardsResult }[];
  /** N projects in the policy's group, swept on a shortened interval (issue 17); the baseline's rows first */
  scale: { name: string; result: ScaleResult }[];
  /** how the app ran in intake and cards: as shipped (`npm run build`, npm start's node options), dev in smoke runs */
  app: { command: string; shipped: boolean };
  /** other ways to run the app (dev entry, V8 defaults) under the same load as cards-1000 */
  production: { name: string; command: string; result: CardsResult }[];
  /** RSS of each way to run the app, started with the ten-channel policy and left alone for 2 s */
  idle: { command: string; rss: number | null }[];
  durationMs: number;
};

/**
 * `shipped`: run intake and cards on the built app with npm
 * start's node options; `production`: the other ways to run it
 */
type Plan = {
  shipped: boolean;
  intake: IntakeSizes;
  forged: ForgedSizes;
  cards: { name: string; sizes: CardsSizes }[];
  scale: { name: string; sizes: ScaleSizes }[];
  production: { name: string; run: 'dev' | 'dist-v8-defaults'; sizes: CardsSizes }[];
};

// Unpaced runs give each card a channel of its own: the app posts at most 1 message per second per channel (as
// Slack asks), so they measure the pipeline; the paced runs spread cards over 10 channels as the issue asks.
const FULL: Plan = {
  shipped: true,
  intake: { concurrency: 32, warmupMs: 1_000, durationMs: 5_000, rate: 1_000, rateDurationMs: 5_000 },
  forged: { requests: 5_000, warmup: 1_000, concurrency: 16, settleMs: 2_000 },
  cards: [
    {
      name: 'cards-100',
      sizes: {
        deployments: 100,
        paced: false,
        channels: 100,
        events: 'deployment',
        clicks: 100,
        warmup: 20,
        settleMs: 1_000,
      },
    },
    {
      name: 'cards-1000',
      sizes: {
        deployments: 1_000,
        paced: false,
        channels: 1_000,
        events: 'deployment',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
      },
    },
    {
      name: 'cards-1000-all-events',
      sizes: {
        deployments: 1_000,
        paced: false,
        channels: 1_000,
        events: 'all',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
      },
    },
    // What a deployment changes, side by side: the same world (every environment deployed before, 200 merge
    // requests since, one release rolled out to all), the summary on (as shipped) and off; then every card synced
    // again by the sweep of a restarted app (what each sweep costs).
    {
      name: 'cards-1000-changes-on',
      sizes: {
        deployments: 1_000,
        paced: false,
        channels: 1_000,
        events: 'deployment',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
        changes: { summary: 'on', history: true },
        resync: true,
      },
    },
    {
      name: 'cards-1000-changes-off',
      sizes: {
        deployments: 1_000,
        paced: false,
        channels: 1_000,
        events: 'deployment',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
        changes: { summary: 'off', history: true },
        resync: true,
      },
    },
    {
      name: 'paced-100',
      sizes: {
        deployments: 100,
        paced: true,
        channels: 10,
        events: 'deployment',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
      },
    },
    {
      name: 'paced-1000',
      sizes: {
        deployments: 1_000,
        paced: true,
        channels: 10,
        events: 'deployment',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
      },
    },
  ],
  // Issue 17: the sweep of a large GitLab, at the default interval: today's sweep bursts at a pace of its own and
  // on a shared 2-core machine needs most of a minute for 1,000 projects, minutes for 10,000, so a shortened
  // interval would cut it off. --scale-interval shortens it (figures scaled; bench/NOTES.md says how).
  scale: [
    { name: 'scale-1000', sizes: scaleSizes(1_000, 300_000, 1) },
    { name: 'scale-10000', sizes: scaleSizes(10_000, 300_000, 1) },
    { name: 'scale-50000', sizes: scaleSizes(50_000, 300_000, 1) },
  ],
  production: [
    {
      name: 'dev-1000',
      run: 'dev',
      sizes: {
        deployments: 1_000,
        paced: false,
        channels: 1_000,
        events: 'deployment',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
      },
    },
    {
      name: 'dist-1000-v8-defaults',
      run: 'dist-v8-defaults',
      sizes: {
        deployments: 1_000,
        paced: false,
        channels: 1_000,
        events: 'deployment',
        clicks: 0,
        warmup: 20,
        settleMs: 1_000,
      },
    },
  ],
};

const SMOKE: Plan = {
  // building takes seconds: the smoke run starts src/main.ts
  shipped: false,
  intake: { concurrency: 4, warmupMs: 100, durationMs: 300, rate: 200, rateDurationMs: 300 },
  forged: { requests: 50, warmup: 20, concurrency: 4, settleMs: 100 },
  cards: [
    {
      name: 'cards-10',
      sizes: { deployments: 10, paced: false, channels: 10, events: 'deployment', clicks: 3, warmup: 2, settleMs: 100 },
    },
    {
      name: 'cards-10-changes',
      sizes: {
        deployments: 10,
        paced: false,
        channels: 10,
        events: 'deployment',
        clicks: 0,
        warmup: 2,
        settleMs: 100,
        changes: { summary: 'on', history: true },
        resync: true,
      },
    },
    {
      name: 'paced-20',
      sizes: { deployments: 20, paced: true, channels: 10, events: 'deployment', clicks: 0, warmup: 2, settleMs: 100 },
    },
  ],
  scale: [
    {
      name: 'scale-40',
      sizes: { projects: 40, protectedShare: 0.05, cards: 4, channels: 2, intervalMs: 3_000, warmIntervals: 1 },
    },
  ],
  production: [],
};

/**
 * A shortened interval measures three warm intervals: the first after the start still holds the start's backlog
 * (the restart's sweep and the scheduled one soon after it, each spread over most of an interval).
 */
function shortened(sizes: ScaleSizes, intervalMs: number): ScaleSizes {
  return { ...sizes, intervalMs, warmIntervals: Math.max(sizes.warmIntervals, 3) };
}

function scaleSizes(projects: number, intervalMs: number, warmIntervals: number): ScaleSizes {
  return { projects, protectedShare: 0.05, cards: 1_000, channels: 100, intervalMs, warmIntervals };
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchResults> {
  const started = Date.now();
  const smoke = opts.smoke ?? false;
  const plan = smoke ? SMOKE : FULL;
  const dir = opts.dir ?? join(REPO_ROOT, 'bench', 'out');
  rmSync(join(dir, 'profiles'), { recursive: true, force: true });
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  const appDir = opts.appDir ?? REPO_ROOT;
  const log = opts.log ?? (() => {});
  const dev: BenchContext = { dir, profile: opts.profile ?? false, appDir, entry: 'src/main.ts', nodeArgs: [], log };
  const wanted = (name: string) =>
    !opts.only || opts.only.some((o) => name === o || (!/\d/.test(o) && name.startsWith(o)));
  const machine = await describeMachine(appDir, opts.appLabel);

  // What ships: `npm run build`, then `node <npm start's options> dist/main.js` (npm start, the Dockerfile).
  const built = plan.shipped ? buildApp(appDir, log) : null;
  try {
    const shippedArgs = startScriptNodeArgs(appDir);
    const ctx: BenchContext = built ? { ...dev, appDir: built, entry: 'dist/main.js', nodeArgs: shippedArgs } : dev;
    const command = `node ${[...ctx.nodeArgs, ctx.entry].join(' ')}`;
    log(`the app runs as: ${command}`);

    const intake = wanted('intake') ? await runIntake(ctx, plan.intake) : null;
    if (wanted('forged-webhooks')) log(`forged-webhooks: ${plan.forged.requests} webhooks without the secret`);
    const forged = wanted('forged-webhooks') ? await runForged(ctx, plan.forged) : null;
    const cards: BenchResults['cards'] = [];
    for (const { name, sizes } of plan.cards) {
      if (!wanted(name)) continue;
      log(
        `${name}: ${sizes.deployments} ` +
          `deployments${sizes.paced ? ', Slack paced at 1 message/s per channel' : ''}` +
          `${sizes.clicks ? `, then ${sizes.clicks} clicks` : ''}`,
      );
      cards.push({ name, result: await runCards(ctx, sizes, name) });
    }
    const scale: BenchResults['scale'] = [];
    const scalePlan = plan.scale
      .filter((p) => wanted(p.name))
      .map((p) => (opts.scaleIntervalMs ? { ...p, sizes: shortened(p.sizes, opts.scaleIntervalMs) } : p));
    // The baseline (--against) is built and run the same way as the app under test.
    const against = opts.against && scalePlan.length > 0 ? opts.against : null;
    const baseline = against && built ? buildApp(against.appDir, log) : (against?.appDir ?? null);
    try {
      for (const { name, sizes } of scalePlan) {
        if (against && baseline) {
          const baseCtx: BenchContext = built
            ? { ...ctx, appDir: baseline, nodeArgs: startScriptNodeArgs(against.appDir) }
            : { ...dev, appDir: baseline };
          scale.push({ name, result: await runScale(baseCtx, sizes, name, against.label) });
        }
        const label = [
          opts.appLabel ?? 'working tree',
          ...Object.entries(opts.scaleEnv ?? {}).map(([k, v]) => `${k}=${v}`),
        ];
        scale.push({ name, result: await runScale(ctx, sizes, name, label.join(', '), opts.scaleEnv) });
      }
    } finally {
      if (against && built && baseline) rmSync(baseline, { recursive: true, force: true });
    }
    // The other ways to run it, under the load of cards-1000; idle memory of each is measured apart, with the
    // ten-channel policy: a policy of 1,000 routes (the unpaced runs) leaves V8's heap grown by the parse.
    const production: BenchResults['production'] = [];
    const idle: BenchResults['idle'] = [];
    const wantedProduction = plan.production.filter((p) => wanted(p.name));
    if (built) {
      log(`idle: ${command}`);
      idle.push({ command, rss: await measureIdle(ctx, 'idle-shipped') });
    }
    if (built) {
      for (const { name, sizes, run } of wantedProduction) {
        const runCtx = run === 'dev' ? dev : { ...ctx, nodeArgs: [] };
        const runCommand = `node ${[...runCtx.nodeArgs, runCtx.entry].join(' ')}`;
        log(`${name}: ${runCommand}, idle, then ${sizes.deployments} deployments`);
        idle.push({ command: runCommand, rss: await measureIdle(runCtx, `idle-${name}`) });
        production.push({ name, command: runCommand, result: await runCards(runCtx, sizes, name) });
      }
    }
    machine.loadEnd = loadavg()[0]!;
    return {
      smoke,
      machine,
      app: { command, shipped: built !== null },
      intake,
      forged,
      cards,
      scale,
      production,
      idle,
      durationMs: Date.now() - started,
    };
  } finally {
    if (built) rmSync(built, { recursive: true, force: true });
  }
}

/**
 * Exports `ref`'s src/ and package.json (git archive) into <dir>/ref-<ref>/ with this checkout's node_modules,
 * so that `--ref main` measures main's app the same way, in the same run conditions.
 */
export function prepareRef(ref: string): string {
  // Outside the checkout, so that tsc and eslint of this checkout do not see a second src/.
  const target = join(tmpdir(), `greenlight-bench-ref-${ref.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const archive = execFileSync('git', ['archive', ref, 'src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', target], { input: archive });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(target, 'node_modules'));
  return target;
}

async function measureIdle(ctx: BenchContext, name: string): Promise<number | null> {
  const world = await startBenchWorld({ channels: 10 });
  try {
    const app = await startApp(ctx, world, { name, role: 'all', settleMs: 2_000 });
    await app.stop();
    return app.idleRss;
  } finally {
    await world.close();
  }
}

/**
 * The node options in package.json's start script (`node --x=1 --env-file-if-exists=.env dist/main.js` -> ['--x=1']).
 */
export function startScriptNodeArgs(appDir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const words = (pkg.scripts?.start ?? '').split(/\s+/);
  const from = words.indexOf('node') + 1;
  const to = words.findIndex((w) => w.endsWith('main.js'));
  if (from === 0 || to < from) return [];
  return words.slice(from, to).filter((w) => w.startsWith('--') && !w.startsWith('--env-file'));
}

/** `npm run build` of appDir's src into a scratch directory (dist/, package.json, node_modules link). */
function buildApp(appDir: string, log: (line: string) => void): string {
  const target = mkdtempSync(join(tmpdir(), 'greenlight-bench-dist-'));
  log('building the app (tsc -p tsconfig.build.json)');
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(appDir, 'tsconfig.build.json'),
      '--outDir',
      join(target, 'dist'),
    ],
    { cwd: appDir, stdio: 'inherit' },
  );
  copyFileSync(join(appDir, 'package.json'), join(target, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(target, 'node_modules'));
  return target;
}

async function describeMachine(appDir: string, appLabel?: string): Promise<Machine> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redisVersion: string;
  try {
    await redis.connect();
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
    if (dirty) commit += ' (src/ modified)';
    if (relative(REPO_ROOT, appDir) !== '') commit = `app from ${appLabel ?? appDir}, bench at ${commit}`;
  } catch {
    // not a git checkout
  }
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    ramGb: totalmem() / 1024 ** 3,
    os: `${process.platform} ${release()}`,
    node: process.version,
    redis: redisVersion,
    commit,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadStart: loadavg()[0]!,
    loadEnd: Number.NaN,
  };
}
