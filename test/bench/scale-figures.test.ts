import { describe, expect, it } from 'vitest';
import { spliceSections } from '../../bench/report.ts';
import {
  analyse,
  busiestBucket,
  busiestWindow,
  routeOf,
  steadyState,
  type TimedRequest,
} from '../../bench/scenarios/scale.ts';

// The figures of the scale scenario (bench/scenarios/scale.ts): routes, busiest minutes, and the splice of its
// table into BENCHMARKS.md.
describe('scale scenario figures', () => {
  it('names routes with ids, encoded paths and group paths as :id', () => {
    expect(routeOf('GET', '/api/v4/projects/12/deployments?status=blocked&per_page=100')).toBe(
      'GET /projects/:id/deployments',
    );
    expect(routeOf('GET', '/api/v4/projects/acme%2Fweb')).toBe('GET /projects/:id');
    expect(routeOf('GET', '/api/v4/groups/scale/projects?page=3')).toBe('GET /groups/:id/projects');
    expect(routeOf('POST', '/api/v4/projects/3/deployments/44/approval')).toBe(
      'POST /projects/:id/deployments/:id/approval',
    );
  });

  it('finds the busiest sliding window and the busiest fixed bucket', () => {
    const times = [0, 50_000, 70_000, 80_000, 100_000, 200_000];
    expect(busiestWindow(times, 60_000)).toBe(4); // 50,000 .. 100,000
    expect(busiestBucket(times, 0, 60_000)).toBe(3); // [60,000, 120,000)
    expect(busiestWindow([0, 59_999, 60_000], 60_000)).toBe(2);
    expect(busiestWindow([], 60_000)).toBe(0);
    expect(busiestBucket([], 0, 60_000)).toBe(0);
  });

  const burst = (from: number, n: number, everyMs: number, route = 'GET /projects/:id/deployments'): TimedRequest[] =>
    Array.from({ length: n }, (_, i) => ({ at: from + i * everyMs, route, project: i }));

  it('takes sweeps that end early in their interval as bursts at a pace of their own', () => {
    // 60 s interval: the start's sweep (200 requests over 20 s), then one sweep a minute of 100 over 10 s
    const requests = [
      ...burst(1_000, 200, 100),
      ...burst(55_000, 100, 100),
      ...burst(115_000, 100, 100, 'GET /projects/:id'),
      ...burst(175_000, 100, 100),
    ];
    const f = analyse(requests, 0, 60_000, 2);
    expect(f.pace).toBe('burst');
    expect(f.cold.requests).toBe(200);
    expect(f.warmPerSweep).toBe(100); // [60 s, 180 s): half of one sweep, a whole one, half of the next
    expect(f.sweepMs).toBe(9_900);
    expect(f.perMinuteAvg).toBe(20); // 100 a sweep, a sweep every 5 minutes
    expect(f.busiestMinute).toBe(200); // the start's burst: 20 s of run time, 20 s at the default interval too
    expect(f.projectGetBusiestMinute).toBe(100);
    expect(f.coldSpill).toBe(false);
  });

  it('scales sweeps that fill their interval: a fifth of it is a minute at the default', () => {
    // 60 s interval (scale 5): 10 requests a second, all the time
    const f = analyse(burst(0, 1_800, 100), 0, 60_000, 2);
    expect(f.pace).toBe('spread');
    expect(f.warmPerSweep).toBe(600);
    expect(f.busiestMinute).toBe(120); // 12 s of run time
    expect(f.sweepMs).toBe(60_000);
  });

  it('does not take the tail of the start for a sweep when the sweeps spread over the interval', () => {
    // 60 s interval, as the N = 1,000 run measured it: the start's sweeps read until 58 s, 23 stragglers at 65 s
    // after a quiet, then a sweep spread from 78 s on over 47 s, past the end of the measurement (120 s)
    const requests = [...burst(0, 2_900, 20), ...burst(65_000, 23, 10), ...burst(78_000, 1_000, 47)];
    const f = analyse(requests, 0, 60_000, 1);
    expect(f.pace).toBe('spread');
    expect(f.warmPerSweep).toBe(23 + requests.filter((r) => r.at >= 78_000 && r.at < 120_000).length);
  });

  it('replaces the catch-up of the slow cycles by their steady share at the default interval', () => {
    const s = steadyState(
      {
        warmPerSweep: 3_000,
        warmByRoute: {
          'GET /projects/:id/protected_environments': 300,
          'GET /groups/:id/projects': 10,
          'GET /projects/:id/deployments/:id': 1_000,
        },
      },
      10_000,
    );
    expect(s.classificationMeasured).toBe(300);
    expect(s.listingMeasured).toBe(10);
    expect(s.classificationSteady).toBeCloseTo(34.72, 2); // 10,000 a day, a sweep every 5 minutes
    expect(s.listingSteady).toBeCloseTo(8.33, 2); // 100 pages an hour
    expect(s.perSweep).toBeCloseTo(3_000 - 310 + 34.72 + 8.33, 1);
    expect(s.perMinuteAvg).toBeCloseTo(s.perSweep / 5, 5);
  });

  it('replaces the scale section of BENCHMARKS.md and keeps the others', () => {
    const old =
      '# Benchmarks\n\n## Cards\n\ncards table\n\n## Sweep at scale\n\nold rows\n\n## How it is measured\n\nnotes\n';
    const report =
      '# Benchmarks\n\n## Targets\n\nx\n\n## Sweep at scale\n\nnew rows\n\n## How it is measured\n\nnotes\n';
    expect(spliceSections(old, report)).toBe(
      '# Benchmarks\n\n## Cards\n\ncards table\n\n## Sweep at scale\n\nnew rows\n\n## How it is measured\n\nnotes\n',
    );
    const without = '# Benchmarks\n\n## Cards\n\ncards table\n\n## How it is measured\n\nnotes\n';
    expect(spliceSections(without, report)).toBe(
      '# Benchmarks\n\n## Cards\n\ncards table\n\n## Sweep at scale\n\nnew rows\n\n## How it is measured\n\nnotes\n',
    );
  });
});
