import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from '../../bench/bench.ts';
import { renderReport } from '../../bench/report.ts';

// Keeps `npm run bench` working: the smoke sizes run every scenario in seconds. The numbers are not judged here.
describe('npm run bench -- --smoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every scenario against the app as a child process and renders the report', async () => {
    // every scenario but the sweep at scale, which has a test of its own below
    const results = await runBench({ smoke: true, dir, only: ['intake', 'forged-webhooks', 'cards', 'paced'] });

    const intake = results.intake!;
    for (const target of [intake.bare, intake.web]) {
      expect(target.max.completed).toBeGreaterThan(0);
      expect(target.max.errors + target.rate.errors).toBe(0);
    }
    expect(intake.web.max.statuses['202']).toBe(intake.web.max.completed);
    expect(intake.all.rate.completed).toBeGreaterThan(0);
    expect(intake.web.idleRss).toBeGreaterThan(0);

    expect(results.cards.map((c) => c.name)).toEqual(['cards-10', 'cards-10-changes', 'paced-20']);
    for (const { result } of results.cards) {
      expect({ lost: result.lost, duplicates: result.duplicates, cards: result.cards }).toEqual({
        lost: 0,
        duplicates: 0,
        cards: result.deployments,
      });
      expect(result.latency.count).toBe(result.deployments);
    }
    // the smoke run's summary cards, synced again by a restarted app's sweep: every card read once more
    const resynced = results.cards[1]!.result.resynced!;
    expect(resynced.syncs).toBeGreaterThanOrEqual(results.cards[1]!.result.deployments);
    expect(resynced.perSync.deployment).toBe(1);
    const click = results.cards[0]!.result.click!;
    expect(click.missing).toBe(0);
    expect(click.toApproval.count).toBe(click.clicks);

    const forged = results.forged!;
    expect(Object.values(forged.statuses).reduce((a, b) => a + b, 0)).toBe(forged.sizes.requests);
    expect(Object.keys(forged.statuses).every((s) => s === '401' || s === '429')).toBe(true);
    expect(forged.afterRss).toBeGreaterThan(0);

    const report = renderReport(results);
    expect(report).toContain('## Targets');
    expect(report).toContain('## Webhook intake');
    expect(report).toContain('## Click to approval');
    expect(report).toContain('## Cards synced again');
    expect(report).toContain('## Forged webhooks');
  }, 60_000);

  it('runs the sweep at scale: a group swept on a shortened interval, every interval timed', async () => {
    const results = await runBench({ smoke: true, dir, only: ['scale'] });

    // the cards carded first, then every interval of the restarted app timed: the start asked GitLab something,
    // and the warm sweeps read the open cards again (whatever else the sweep reads is the app's business)
    expect(results.scale.map((s) => s.name)).toEqual(['scale-40']);
    const scale = results.scale[0]!.result;
    expect(scale.carded).toBe(scale.cards);
    expect(scale.warm).toHaveLength(scale.warmIntervals);
    expect(scale.cold.requests).toBeGreaterThan(0);
    expect(scale.warmByRoute['GET /projects/:id/deployments/:id']).toBeGreaterThan(0);
    expect(scale.busiestMinute).toBeGreaterThan(0);
    expect(scale.rss).toBeGreaterThan(0);
    expect(renderReport(results)).toContain('## Sweep at scale');
  }, 60_000);
});
