import { describe, expect, it } from 'vitest';
import {
  changesForCard,
  describeChanges,
  pipelineHealth,
  rangeChanges,
  type ChangesSource,
  type DeployedVersion,
  type MergeRequestRef,
  type PipelineJob,
  type RangeChanges,
  type RangeCommit,
  type RangeKey,
  type RangeStore,
} from '../../../src/core/cards/changes-summary.ts';
import { freezeInEffect, type FreezePeriod } from '../../../src/core/cards/deploy-freeze.ts';
import type { DeploymentRef } from '../../../src/core/ports.ts';
import { CapturingLogger, FakeClock, FakeQueue } from '../../fakes/in-memory.ts';
import { waitFor } from '../../helpers/wait.ts';
import { alice, bob, carol, waitingDeployment } from '../../fixtures/deployments.ts';

const sha = (n: number) => n.toString(16).padStart(40, 'a');
const commit = (n: number, title = `Commit ${n}`): RangeCommit => ({
  sha: sha(n),
  title,
  authorName: 'Ann Author',
  webUrl: `https://gitlab.example.com/acme/web/-/commit/${sha(n)}`,
});
const mr = (iid: number, shas: string[], author = alice): MergeRequestRef => ({
  iid,
  title: `MR ${iid}`,
  webUrl: `https://gitlab.example.com/acme/web/-/merge_requests/${iid}`,
  author,
  shas,
});

/** GitLab as an in-memory table: ranges by `a..b`, and a log of what was asked. */
class FakeSource implements ChangesSource {
  current: DeployedVersion | null = null;
  ranges = new Map<string, RangeCommit[]>();
  merged: MergeRequestRef[] = [];
  jobs: PipelineJob[] = [];
  periods: FreezePeriod[] = [];
  calls: string[] = [];
  /** The pipeline updated_at each jobs read was for. */
  jobsFor: Array<string | null> = [];
  failing = new Set<string>();
  hold: Promise<void> | null = null;
  async #answer<T>(what: string, value: T): Promise<T> {
    this.calls.push(what);
    if (this.hold) await this.hold;
    if (this.failing.has(what.split(' ')[0]!)) throw new Error(`${what} failed`);
    return value;
  }
  currentDeployment() {
    return this.#answer('current', this.current);
  }
  commits(_projectId: number, range: string) {
    return this.#answer(`commits ${range}`, { commits: this.ranges.get(range) ?? [], more: false });
  }
  mergedMergeRequests(_projectId: number, q: { targetBranch: string; updatedAfter: string | null }) {
    return this.#answer(`merged ${q.targetBranch} ${q.updatedAfter}`, this.merged);
  }
  pipelineJobs(_projectId: number, _pipelineId: number, pipelineUpdatedAt: string | null) {
    this.jobsFor.push(pipelineUpdatedAt);
    return this.#answer('jobs', this.jobs);
  }
  freezePeriods() {
    return this.#answer('freeze', this.periods);
  }
}

class MemoryRanges implements RangeStore {
  readonly kept = new Map<string, RangeChanges>();
  readonly partial = new Set<string>();
  async get(k: RangeKey) {
    return this.kept.get(`${k.projectId}:${k.from}..${k.to}`) ?? null;
  }
  async put(k: RangeKey, v: RangeChanges, opts?: { partial: boolean }) {
    this.kept.set(`${k.projectId}:${k.from}..${k.to}`, v);
    if (opts?.partial) this.partial.add(`${k.projectId}:${k.from}..${k.to}`);
  }
}

const setup = () => {
  const source = new FakeSource();
  const ranges = new MemoryRanges();
  const logger = new CapturingLogger();
  const clock = new FakeClock();
  return { source, ranges, logger, clock, deps: { source, ranges, clock, logger } };
};

describe('freezeInEffect (GitLab Ci::FreezePeriod semantics)', () => {
  // GitLab's factory: Friday 23:00 to Monday 07:00 UTC; spec/models/ci/freeze_period_spec.rb times
  const weekend: FreezePeriod = { start: '0 23 * * 5', end: '0 7 * * 1', timezone: 'UTC' };
  it.each([
    ['2020-04-10T22:59:00Z', false],
    ['2020-04-10T23:01:00Z', true],
    ['2020-04-13T06:59:00Z', true],
    ['2020-04-13T07:01:00Z', false],
  ])('at %s the weekend freeze is in effect: %s', (at, active) => {
    const { freeze } = freezeInEffect([weekend], Date.parse(at));
    expect(freeze !== null).toBe(active);
    if (freeze)
      expect(freeze).toMatchObject({ startedAt: '2020-04-10T23:00:00.000Z', endsAt: '2020-04-13T07:00:00.000Z' });
  });

  it('handles a period that overlaps with itself (gitlab issue 370472)', () => {
    const august: FreezePeriod = { start: '* * * 8 *', end: '* * * 10 *', timezone: 'UTC' };
    expect(freezeInEffect([august], Date.parse('2020-08-11T00:00:00Z')).freeze?.endsAt).toBe(
      '2020-10-01T00:00:00.000Z',
    );
    expect(freezeInEffect([august], Date.parse('2020-10-11T00:00:00Z')).freeze).toBeNull();
  });

  it('reads the crons in the period’s time zone, and takes the one that ends last', () => {
    const berlin: FreezePeriod = { start: '0 18 * * *', end: '0 8 * * *', timezone: 'Europe/Berlin' };
    const late: FreezePeriod = { start: '0 17 * * *', end: '0 10 * * *', timezone: 'UTC' };
    // 2026-07-01 20:00 UTC = 22:00 in Berlin (CEST, +2): Berlin's freeze runs until 08:00 local = 06:00 UTC
    const { freeze } = freezeInEffect([berlin, late], Date.parse('2026-07-01T20:00:00Z'));
    expect(freeze).toMatchObject({ endsAt: '2026-07-02T10:00:00.000Z', period: late });
    expect(freezeInEffect([berlin], Date.parse('2026-07-01T20:00:00Z')).freeze).toMatchObject({
      startedAt: '2026-07-01T16:00:00.000Z',
      endsAt: '2026-07-02T06:00:00.000Z',
    });
  });

  it('leaves out periods whose cron or time zone cannot be read, and says which', () => {
    const bad: FreezePeriod = { start: '0 0 0 * *', end: '0 8 * * 1', timezone: 'UTC' };
    const nowhere: FreezePeriod = { start: '0 23 * * 5', end: '0 8 * * 1', timezone: 'Mars/Olympus' };
    expect(freezeInEffect([bad, nowhere], Date.parse('2020-04-11T12:00:00Z'))).toEqual({
      freeze: null,
      invalid: [bad, nowhere],
    });
  });
});

describe('pipelineHealth', () => {
  const job = (id: number, name: string, status: string, allowFailure = false): PipelineJob => ({
    id,
    name,
    status,
    allowFailure,
  });
  it('leaves out the deployment job and other manual gates, and names failed jobs in pipeline order', () => {
    const jobs = [
      job(9, 'deploy', 'manual'),
      job(4, 'e2e', 'failed'),
      job(3, 'unit', 'failed'),
      job(2, 'lint', 'success'),
    ];
    expect(pipelineHealth(jobs, 9, null)).toMatchObject({ state: 'failed', failed: ['unit', 'e2e'], passed: 1 });
  });
  it('passes with jobs that were allowed to fail, and is still running while a job runs (not while one waits)', () => {
    expect(pipelineHealth([job(1, 'lint', 'success'), job(2, 'flaky', 'failed', true)], null, null)).toMatchObject({
      state: 'passed',
      warnings: 1,
    });
    expect(pipelineHealth([job(1, 'lint', 'running'), job(2, 'smoke', 'created')], null, null)).toMatchObject({
      state: 'running',
      running: 1,
    });
    expect(pipelineHealth([job(2, 'smoke', 'created')], null, null).state).toBe('none');
    expect(pipelineHealth([job(2, 'unit', 'canceled')], null, null).state).toBe('canceled');
  });
});

describe('rangeChanges', () => {
  const key = { projectId: 42, from: sha(1), to: sha(9) };
  const input = { ...key, targetBranch: 'main', updatedAfter: '2026-11-20T00:00:00Z' };

  it('reads the range and the merged MRs at once, matches them by merge, squash or head commit', async () => {
    const { source, deps, ranges } = setup();
    source.ranges.set(`${sha(1)}..${sha(9)}`, [commit(9), commit(8), commit(7), commit(6)]);
    source.merged = [mr(3, [sha(6)]), mr(1, [sha(8), sha(5)], carol), mr(2, [sha(100), sha(101)]), mr(4, [sha(7)])];
    const changes = await rangeChanges(deps, input);
    expect(source.calls).toEqual([`commits ${sha(1)}..${sha(9)}`, 'merged main 2026-11-20T00:00:00Z']);
    expect(changes).toMatchObject({ kind: 'forward', count: 4, more: false });
    expect(changes.mergeRequests.map((m) => m.iid)).toEqual([1, 4, 3]);
    expect(changes.commits.map((c) => c.mergeRequestIid)).toEqual([undefined, 1, 4, 3]);
    expect(await ranges.get(key)).toEqual(changes);
    // kept: a second render asks GitLab nothing
    source.calls = [];
    expect(await rangeChanges(deps, input)).toEqual(changes);
    expect(source.calls).toEqual([]);
  });

  it('reads the range backwards when the new commit is behind: a rollback, and the commits it takes back', async () => {
    const { source, deps } = setup();
    source.ranges.set(`${sha(9)}..${sha(1)}`, [commit(3), commit(2)]);
    const changes = await rangeChanges(deps, input);
    expect(changes).toMatchObject({ kind: 'rollback', count: 2, mergeRequests: [] });
    expect(source.calls.at(-1)).toBe(`commits ${sha(9)}..${sha(1)}`);
  });

  it('asks nothing for the same commit, or for shas that are not shas', async () => {
    const { source, deps } = setup();
    expect((await rangeChanges(deps, { ...input, to: sha(1) })).kind).toBe('same');
    expect((await rangeChanges(deps, { ...input, to: 'main; rm -rf' })).kind).toBe('unknown');
    expect(source.calls).toEqual([]);
  });

  it('shows a range whose merge requests GitLab did not give, and keeps it only briefly', async () => {
    const { source, deps, ranges } = setup();
    source.ranges.set(`${sha(1)}..${sha(9)}`, [commit(9)]);
    source.failing.add('merged');
    expect(await rangeChanges(deps, input)).toMatchObject({ kind: 'forward', count: 1, mergeRequests: [] });
    expect(ranges.partial.has(`42:${sha(1)}..${sha(9)}`)).toBe(true);
  });
});

describe('describeChanges', () => {
  const d = waitingDeployment({ sha: sha(9) });
  const current: DeployedVersion = {
    deploymentId: 4700,
    ref: 'main',
    sha: sha(1),
    at: '2026-11-22T10:00:00.000Z',
    by: bob,
    commitDate: '2026-11-22T09:00:00.000Z',
  };

  it('says what runs now, what changes with a compare link, the pipeline and no freeze', async () => {
    const { source, deps } = setup();
    source.current = current;
    source.ranges.set(`${sha(1)}..${sha(9)}`, [commit(9), commit(8)]);
    source.merged = Array.from({ length: 7 }, (_, i) => mr(i + 1, [i === 0 ? sha(9) : sha(8)]));
    source.jobs = [{ id: 1, name: 'lint', status: 'success', allowFailure: false }];
    const summary = await describeChanges(deps, d);
    expect(source.calls.slice(0, 3).sort()).toEqual(['current', 'freeze', 'jobs']);
    expect(source.calls).toContain('merged main 2026-11-22T09:00:00.000Z');
    expect(summary.current).toMatchObject({ sha: sha(1), shortSha: sha(1).slice(0, 8), by: bob });
    expect(summary.range).toMatchObject({
      kind: 'forward',
      count: 2,
      compareUrl: `https://gitlab.example.com/acme/web/-/compare/${sha(1)}...${sha(9)}`,
      mergeRequestCount: 7,
    });
    expect(summary.range!.mergeRequests).toHaveLength(5);
    expect(summary.pipeline).toMatchObject({ state: 'passed', url: d.pipeline!.webUrl });
    expect(summary.freeze).toBeNull();
  });

  it('says nothing of a range before the first deployment, and keeps the parts GitLab did answer', async () => {
    const { source, deps, logger } = setup();
    source.failing.add('jobs');
    const summary = await describeChanges(deps, d);
    expect(summary).toMatchObject({ current: null, range: null, pipeline: null, freeze: null });
    expect(logger.lines.some((l) => l.msg === 'changes: pipeline jobs not read')).toBe(true);
  });
});

describe('changesForCard', () => {
  const d = waitingDeployment({ sha: sha(9) });
  const controlled = () => {
    let fire: () => void = () => {};
    const timer = new Promise<void>((resolve) => (fire = resolve));
    const requested: Array<{ ref: DeploymentRef; reason: string }> = [];
    return {
      fire: () => fire(),
      requested,
      extra: {
        delay: () => timer,
        queue: {
          async requestSync(ref: DeploymentRef, reason: string) {
            requested.push({ ref, reason });
          },
        },
      },
    };
  };

  it('gives the summary when it is read in time', async () => {
    const { deps } = setup();
    const t = controlled();
    expect(await changesForCard({ ...deps, ...t.extra }, d)).toMatchObject({ status: 'ready', current: null });
    expect(t.requested).toEqual([]);
  });

  it('lets the card go out "pending" when GitLab is slow, and asks for a follow-up sync once it is read', async () => {
    const { source, deps } = setup();
    let release: () => void = () => {};
    source.hold = new Promise<void>((resolve) => (release = resolve));
    const t = controlled();
    const view = changesForCard({ ...deps, ...t.extra }, d);
    t.fire();
    expect(await view).toEqual({ status: 'pending' });
    expect(t.requested).toEqual([]);
    release();
    await waitFor(() => t.requested.length > 0, { what: 'the follow-up sync' });
    expect(t.requested).toEqual([{ ref: { projectId: 42, deploymentId: 4711 }, reason: 'changes summary ready' }]);
  });

  it('leaves the summary off when GitLab refuses it, and asks for no follow-up', async () => {
    const { source, deps } = setup();
    source.failing.add('current');
    const t = controlled();
    expect(await changesForCard({ ...deps, ...t.extra }, d)).toBeNull();
    expect(t.requested).toEqual([]);
  });
});

describe('a re-sync of a card whose summary is ready (the sweep, every interval)', () => {
  const pipelineAt = '2026-11-23T09:55:00.000Z';
  const base = waitingDeployment({ sha: sha(9) });
  const d = { ...base, pipeline: { ...base.pipeline!, updatedAt: pipelineAt } };
  const current: DeployedVersion = {
    deploymentId: 4700,
    ref: 'main',
    sha: sha(1),
    at: '2026-11-22T10:00:00.000Z',
    by: bob,
    commitDate: '2026-11-22T09:00:00.000Z',
  };
  const noDelay = { delay: () => new Promise<void>(() => {}), queue: new FakeQueue() };
  /** The card's first render: GitLab's answers as in the source. */
  const firstRead = async (source: FakeSource, deps: ReturnType<typeof setup>['deps']) => {
    source.current = current;
    source.ranges.set(`${sha(1)}..${sha(9)}`, [commit(9), commit(8)]);
    source.merged = [mr(1, [sha(9)])];
    const shown = await changesForCard({ ...deps, ...noDelay }, d);
    expect(shown).toMatchObject({ status: 'ready', pipeline: { pipelineUpdatedAt: pipelineAt } });
    source.calls = [];
    source.jobsFor = [];
    return shown!;
  };

  it('asks GitLab for nothing but the freeze periods (kept by the reader) while the pipeline is finished', async () => {
    const { source, deps, clock } = setup();
    source.jobs = [{ id: 1, name: 'lint', status: 'failed', allowFailure: false }];
    let shown = await firstRead(source, deps);
    for (let i = 0; i < 5; i += 1) {
      clock.advance(5 * 60_000);
      const next = await changesForCard({ ...deps, ...noDelay }, d, shown);
      expect(next).toEqual(shown);
      shown = next!;
    }
    expect(source.calls).toEqual(Array(5).fill('freeze'));
  });

  it('reads the jobs again while some still run, and when the pipeline moved since (a job retried)', async () => {
    const { source, deps } = setup();
    source.jobs = [{ id: 1, name: 'e2e', status: 'running', allowFailure: false }];
    const running = await firstRead(source, deps);
    source.jobs = [{ id: 1, name: 'e2e', status: 'failed', allowFailure: false }];
    const failed = await changesForCard({ ...deps, ...noDelay }, d, running);
    expect(failed).toMatchObject({ pipeline: { state: 'failed', failed: ['e2e'] } });
    expect(source.jobsFor).toEqual([pipelineAt]);

    // retried: GitLab makes no new deployment, the pipeline runs again and its updated_at moves
    source.jobs = [{ id: 2, name: 'e2e', status: 'success', allowFailure: false }];
    const retried = { ...d, pipeline: { ...d.pipeline, updatedAt: '2026-11-23T10:20:00.000Z' } };
    expect(await changesForCard({ ...deps, ...noDelay }, retried, failed)).toMatchObject({
      pipeline: { state: 'passed', pipelineUpdatedAt: '2026-11-23T10:20:00.000Z' },
    });
    expect(source.jobsFor).toEqual([pipelineAt, '2026-11-23T10:20:00.000Z']);
    expect(source.calls).not.toContain('current');
  });

  it('works out a freeze that starts while the card waits from the periods, at every sync', async () => {
    const { source, deps, clock } = setup();
    const shown = await firstRead(source, deps);
    expect(shown).toMatchObject({ freeze: null });
    // 10:00 UTC now: a freeze every day from 10:30 to 12:00
    source.periods = [{ start: '30 10 * * *', end: '0 12 * * *', timezone: 'UTC' }];
    expect(await changesForCard({ ...deps, ...noDelay }, d, shown)).toMatchObject({ freeze: null });
    clock.advance(31 * 60_000);
    expect(await changesForCard({ ...deps, ...noDelay }, d, shown)).toMatchObject({
      freeze: { startedAt: '2026-11-23T10:30:00.000Z', endsAt: '2026-11-23T12:00:00.000Z' },
    });
  });

  it('looks again for a range GitLab could not relate (store first), and reads a pending summary in full', async () => {
    const { source, deps } = setup();
    const shown = await firstRead(source, deps);
    if (shown.status !== 'ready') throw new Error('not ready');
    const unrelated = { ...shown, range: { ...shown.range!, kind: 'unknown' as const, count: 0 } };
    expect(await changesForCard({ ...deps, ...noDelay }, d, unrelated)).toEqual(shown);
    expect(source.calls).toEqual(['freeze']); // the range from the store
    await changesForCard({ ...deps, ...noDelay }, d, { status: 'pending' });
    expect(source.calls).toContain('current');
  });

  /** A card whose summary is ready, synced again while GitLab holds every read (`release` lets them answer). */
  const heldResync = async () => {
    const { source, deps } = setup();
    source.jobs = [{ id: 1, name: 'e2e', status: 'running', allowFailure: false }];
    const shown = await firstRead(source, deps);
    let release: () => void = () => {};
    source.hold = new Promise<void>((resolve) => (release = resolve));
    const queue = new FakeQueue();
    const logger = new CapturingLogger();
    const late = { delay: () => Promise.resolve(), queue, logger };
    expect(await changesForCard({ ...deps, ...late }, d, shown)).toEqual(shown);
    return { source, queue, logger, release };
  };

  it('keeps the summary it shows when GitLab is slow, and asks for a follow-up sync once it is read', async () => {
    const { source, queue, release } = await heldResync();
    // what the late read brings differs: a freeze in effect now (10:00 UTC; 09:00 to 12:00 every day), added to
    // the periods the held read answers with
    source.periods.push({ start: '0 9 * * *', end: '0 12 * * *', timezone: 'UTC' });
    release();
    await waitFor(() => queue.syncs.length > 0, { what: 'the follow-up sync' });
    expect(queue.syncs).toEqual([{ projectId: 42, deploymentId: 4711, reason: 'changes summary ready' }]);
  });

  it('asks for no follow-up sync when the late summary says what the card shows already', async () => {
    const { queue, logger, release } = await heldResync();
    release();
    await waitFor(() => logger.lines.some((l) => l.msg.startsWith('late changes summary unchanged')), {
      what: 'the late summary read',
    });
    expect(queue.syncs).toEqual([]);
  });
});
