// npm run bench [-- --smoke] [--profile] [--only intake,cards-100] [--ref main] [--out FILE] [--json FILE]
// Runs the benchmarks (the app as a child process against the fakes and a real Redis) and rewrites
// BENCHMARKS.md. --smoke (or BENCH_SMOKE=1) uses tiny sizes and prints the report instead of writing it;
// so do --only and --ref unless --out is given. --ref measures another git ref's app (e.g. main) the same way.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareRef, runBench } from './bench.ts';
import { REPO_ROOT } from './lib/app.ts';
import { renderReport } from './report.ts';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: process.env.BENCH_SMOKE === '1' },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    ref: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
  },
});

const log = (line: string) => console.error(`[bench] ${line}`);
const appDir = values.ref ? prepareRef(values.ref) : undefined;
const results = await runBench({
  smoke: values.smoke,
  profile: values.profile,
  ...(values.only && { only: values.only.split(',') }),
  ...(appDir && { appDir, appLabel: `git ref ${values.ref}` }),
  log,
}).finally(() => {
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});
const report = renderReport(results);
const partial = values.smoke || values.only !== undefined || values.ref !== undefined;
const out = values.out ?? (partial ? null : join(REPO_ROOT, 'BENCHMARKS.md'));
if (out) {
  writeFileSync(out, report);
  log(`wrote ${out}`);
} else {
  console.log(report);
}
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
if (values.profile)
  log(`CPU profiles of the app: bench/out/profiles (summarise with node bench/profile-summary.ts FILE)`);
log(`done in ${(results.durationMs / 1000).toFixed(0)} s`);
