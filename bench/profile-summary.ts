// node bench/profile-summary.ts FILE.cpuprofile [--top 25]
// Self time of a V8 CPU profile (node --cpu-prof; `npm run bench -- --profile` writes them to bench/out/profiles)
// by function and by package, to find the hot paths.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
};
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

export type ProfileSummary = { totalMs: number; byFunction: [string, number][]; byPackage: [string, number][] };

export function packageOf(url: string): string {
  if (!url) return '(native/gc/idle)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const own = /\/((?:src|dist)\/.*)$/.exec(url);
  return own ? own[1]!.split('/').slice(0, 3).join('/') : url;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id)!;
    const shortUrl = callFrame.url
      .replace(/^.*node_modules\//, '')
      .replace(/^file:\/\/.*?\/(src|dist|bench|test)\//, '$1/');
    const where = callFrame.url ? `${shortUrl}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + ms);
    const p = packageOf(callFrame.url);
    pkg.set(p, (pkg.get(p) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalMs: (profile.endTime - profile.startTime) / 1000, byFunction: sorted(fn), byPackage: sorted(pkg) };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  for (const file of positionals) {
    const summary = summarizeProfile(file, Number(values.top));
    const busy = summary.byPackage.filter(([p]) => p !== '(native/gc/idle)').reduce((n, [, ms]) => n + ms, 0);
    console.log(`\n${file}: ${summary.totalMs.toFixed(0)} ms profiled`);
    console.log('\nself time by package:');
    for (const [p, ms] of summary.byPackage)
      console.log(`  ${ms.toFixed(0).padStart(7)} ms  ${((ms / summary.totalMs) * 100).toFixed(1).padStart(5)}%  ${p}`);
    console.log(`\nself time by function (JS busy ${busy.toFixed(0)} ms):`);
    for (const [f, ms] of summary.byFunction) console.log(`  ${ms.toFixed(0).padStart(7)} ms  ${f}`);
  }
}
