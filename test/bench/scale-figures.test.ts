import { describe, expect, it } from 'vitest';
import { spliceSections } from '../../bench/report.ts';
import { busiestBucket, busiestWindow, routeOf } from '../../bench/scenarios/scale.ts';

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
