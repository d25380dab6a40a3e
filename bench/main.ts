// npm run bench [-- --smoke] [--profile] [--only intake,cards-100] [--ref main] [--against main] [--splice]
//   [--out FILE] [--json FILE]
// Runs the benchmarks (the app as a child process against the fakes and a real Redis) and rewrites
// BENCHMARKS.md. --smoke (or BENCH_SMOKE=1) uses tiny sizes and prints the report instead of writing it;
// so do --only and --ref unless --out is given. --ref measures another git ref's app (e.g. main) the same way.
// --against <ref>: the scale scenario measures that ref's app too, side by side with the app under test.
// --splice: write only the sections this run measured into BENCHMARKS.md (e.g. --only scale --against main).
// --scale-interval 60s: the scale scenario's sweep interval (default: the plan's; shortened, figures are scaled).
// --scale-env GITLAB_SWEEP_RATE_LIMIT=1000: settings of the scale scenario's measured app (its rows say so).
// --from-json a.json,b.json: runs nothing; renders the results of earlier runs (--json), their scale rows side by
// side (e.g. one run with --ref main and one of the working tree), for --splice or --out.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareRef, runBench, type BenchResults } from './bench.ts';
import { REPO_ROOT } from './lib/app.ts';
import { renderReport, spliceSections } from './report.ts';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: process.env.BENCH_SMOKE === '1' },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    ref: { type: 'string' },
    against: { type: 'string' },
    splice: { type: 'boolean', default: false },
    'from-json': { type: 'string' },
    'scale-interval': { type: 'string' },
    'scale-env': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
  },
});

const log = (line: string) => console.error(`[bench] ${line}`);
const fromJson = values['from-json']?.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchResults);
const scaleInterval = values['scale-interval'] && /^(\d+)(ms|s|m)$/.exec(values['scale-interval']);
if (values['scale-interval'] !== undefined && !scaleInterval)
  throw new Error('--scale-interval: a duration like 60s or 2m');
const scaleIntervalMs = scaleInterval
  ? Number(scaleInterval[1]) * { ms: 1, s: 1_000, m: 60_000 }[scaleInterval[2] as 'ms' | 's' | 'm']
  : undefined;
const appDir = !fromJson && values.ref ? prepareRef(values.ref) : undefined;
const againstDir = !fromJson && values.against ? prepareRef(values.against) : undefined;
const results: BenchResults = fromJson
  ? { ...fromJson[0]!, scale: fromJson.flatMap((r) => r.scale) }
  : await runBench({
      smoke: values.smoke,
      profile: values.profile,
      ...(values.only && { only: values.only.split(',') }),
      ...(appDir && { appDir, appLabel: `git ref ${values.ref}` }),
      ...(scaleIntervalMs !== undefined && { scaleIntervalMs }),
      ...(values['scale-env'] && {
        scaleEnv: Object.fromEntries(
          values['scale-env'].split(',').map((kv) => [kv.split('=')[0]!, kv.split('=')[1] ?? '']),
        ),
      }),
      ...(againstDir && { against: { appDir: againstDir, label: `git ref ${values.against}` } }),
      log,
    }).finally(() => {
      for (const dir of [appDir, againstDir]) if (dir) rmSync(dir, { recursive: true, force: true });
    });
const report = renderReport(results);
if (values.splice) {
  const file = values.out ?? join(REPO_ROOT, 'BENCHMARKS.md');
  writeFileSync(file, spliceSections(existsSync(file) ? readFileSync(file, 'utf8') : '', report));
  log(`replaced this run's sections in ${file}`);
}
const partial = values.smoke || values.only !== undefined || values.ref !== undefined || fromJson !== undefined;
const out = values.splice ? null : (values.out ?? (partial ? null : join(REPO_ROOT, 'BENCHMARKS.md')));
if (out) {
  writeFileSync(out, report);
  log(`wrote ${out}`);
} else if (!values.splice) {
  console.log(report);
}
if (values.json && !fromJson) writeFileSync(values.json, JSON.stringify(results, null, 2));
if (values.profile)
  log(`CPU profiles of the app: bench/out/profiles (summarise with node bench/profile-summary.ts FILE)`);
log(`done in ${(results.durationMs / 1000).toFixed(0)} s`);
