// node bench/memory-scale.ts [--projects 50000] [--interval 60s] [--warm 1] [--app DIR] [--json FILE]
// A shorter run of the scale scenario (bench/scenarios/scale.ts) for looking at the app's memory: the same world,
// carding and restart, with fewer intervals, and the RSS at the end of each interval printed. The app is built
// from this checkout (or --app: a checkout whose app is measured instead) and started as it ships (npm start's
// node options). Extra node options or environment for the app: BENCH_APP_NODE_ARGS, BENCH_APP_ENV (as the
// bench). Not part of `npm run bench` and its report: a tool for investigating issue 17's memory goal.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startScriptNodeArgs } from './bench.ts';
import { REPO_ROOT, type BenchContext } from './lib/app.ts';
import { runScale } from './scenarios/scale.ts';

const { values } = parseArgs({
  options: {
    projects: { type: 'string', default: '50000' },
    interval: { type: 'string', default: '60s' },
    warm: { type: 'string', default: '1' },
    app: { type: 'string' },
    json: { type: 'string' },
  },
});
const interval = /^(\d+)(ms|s|m)$/.exec(values.interval);
if (!interval) throw new Error('--interval: a duration like 60s or 5m');
const intervalMs = Number(interval[1]) * { ms: 1, s: 1_000, m: 60_000 }[interval[2] as 'ms' | 's' | 'm'];
const appDir = values.app ?? REPO_ROOT;
const log = (line: string) => console.error(`[memory] ${line}`);

const built = mkdtempSync(join(tmpdir(), 'greenlight-memory-dist-'));
const dir = join(REPO_ROOT, 'bench', 'out');
mkdirSync(dir, { recursive: true });
try {
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(appDir, 'tsconfig.build.json')].concat([
      '--outDir',
      join(built, 'dist'),
    ]),
    { cwd: appDir, stdio: 'inherit' },
  );
  copyFileSync(join(appDir, 'package.json'), join(built, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(built, 'node_modules'));
  const ctx: BenchContext = {
    dir,
    profile: false,
    appDir: built,
    entry: 'dist/main.js',
    nodeArgs: startScriptNodeArgs(appDir),
    log,
  };
  log(`the app runs as: node ${[...ctx.nodeArgs, ctx.entry].join(' ')} (from ${appDir})`);
  const name = `memory-${values.projects}`;
  const result = await runScale(
    ctx,
    {
      projects: Number(values.projects),
      protectedShare: 0.05,
      cards: 1_000,
      channels: 100,
      intervalMs,
      warmIntervals: Number(values.warm),
    },
    name,
    appDir,
  );
  const mb = (n: number | null | undefined) => (typeof n === 'number' ? `${(n / 1e6).toFixed(1)} MB` : '-');
  const slots = [result.cold, ...result.warm];
  log(
    `${name}: carded ${result.carded}; RSS at the end of each interval: ${slots.map((s) => mb(s.rssAtEnd)).join(', ')}`,
  );
  log(`${name}: peak RSS ${mb(result.peakRss)}; warm requests per interval ${slots.slice(1).map((s) => s.requests)}`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ ...result, timeline: undefined }, null, 2));
} finally {
  rmSync(built, { recursive: true, force: true });
}
