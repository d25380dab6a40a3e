import { beforeEach, describe, expect, it } from 'vitest';
import { GreenlightError } from '../../../src/core/errors.ts';
import {
  sweepDeployments,
  type ListedProject,
  type SweepDeps,
  type SweepGitLab,
  type SweepState,
} from '../../../src/core/intake/sweep-deployments.ts';
import type { DeploymentRef, JobPlacement } from '../../../src/core/ports.ts';
import { CapturingLogger, FakeQueue } from '../../fakes/in-memory.ts';

const listed = (id: number): ListedProject => ({ id, path: `g/p${id}`, name: `p${id}`, webUrl: `https://gl/g/p${id}` });

/** GitLab as the sweep sees it, with failures and a gauge of concurrent calls. */
class FakeGitLab implements SweepGitLab {
  projects = new Map<string | number, number>();
  groups = new Map<string | number, number[]>();
  failing = new Map<string | number, Error>();
  calls: Array<string | number> = [];
  inFlight = 0;
  maxInFlight = 0;

  async #call<T>(key: string | number, fn: () => T): Promise<T> {
    this.calls.push(key);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight -= 1;
    const failure = this.failing.get(key);
    if (failure) throw failure;
    return fn();
  }
  project(project: string | number) {
    return this.#call(project, () => {
      const id = this.projects.get(project);
      return id === undefined ? null : listed(id);
    });
  }
  async *groupProjects(group: string | number): AsyncGenerator<ListedProject[]> {
    const ids = await this.#call(group, () => {
      const found = this.groups.get(group);
      if (!found) throw new GreenlightError('gitlab_not_found', '404 Group Not Found');
      return found;
    });
    for (let i = 0; i < ids.length; i += 2) yield ids.slice(i, i + 2).map(listed);
  }
}

/** Redis as the sweep sees it. */
class FakeState implements SweepState {
  known = new Set<number>();
  open: DeploymentRef[] = [];
  info = new Map<number, ListedProject>();
  resolved = new Map<string, number>();
  fresh: number | null = null;
  listing = new Set<number>();
  listedIds = new Set<number>();
  blocking = new Set<number>();
  classified = new Map<number, number>();
  async knownProjects() {
    return [...this.known];
  }
  async openCards() {
    return this.open;
  }
  async saveInfo(projects: readonly ListedProject[]) {
    for (const p of projects) this.info.set(p.id, p);
  }
  async resolvedId(project: string) {
    return this.resolved.get(project) ?? null;
  }
  async saveResolvedId(project: string, id: number) {
    this.resolved.set(project, id);
  }
  async listedAt() {
    return this.fresh;
  }
  async startListing() {
    this.listing.clear();
  }
  async addListed(ids: readonly number[]) {
    for (const id of ids) this.listing.add(id);
  }
  async finishListing(opts: { complete: boolean; freshForMs: number; at: number }) {
    this.listedIds = opts.complete ? new Set(this.listing) : new Set([...this.listedIds, ...this.listing]);
    if (opts.freshForMs > 0) this.fresh = opts.at;
  }
  async listedProjects() {
    return [...this.listedIds];
  }
  async canBlock() {
    return [...this.blocking];
  }
  async classificationDue(ids: readonly number[], before: number) {
    const never = ids.filter((id) => !this.classified.has(id));
    const stale = ids.filter((id) => this.classified.has(id) && this.classified.get(id)! < before);
    return [...never, ...stale.sort((a, b) => this.classified.get(a)! - this.classified.get(b)!)];
  }
}

type Scan = { projectId: number; reason: string; classify?: boolean; placement?: JobPlacement };
class SweepQueue extends FakeQueue {
  readonly scans: Scan[] = [];
  readonly placements: JobPlacement[] = [];
  override async requestSync(ref: DeploymentRef, reason: string, placement?: JobPlacement) {
    await super.requestSync(ref, reason);
    if (placement) this.placements.push(placement);
  }
  async requestScan(job: { projectId: number; reason: string; classify?: boolean }, placement?: JobPlacement) {
    this.scans.push({
      projectId: job.projectId,
      reason: job.reason,
      ...(job.classify && { classify: true }),
      ...(placement && { placement }),
    });
  }
}

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

describe('sweepDeployments', () => {
  let gitlab: FakeGitLab;
  let state: FakeState;
  let queue: SweepQueue;
  let logger: CapturingLogger;
  const deps = (
    policy: { projects: Array<string | number>; groups: Array<string | number> },
    concurrency?: number,
  ): SweepDeps => ({
    gitlab,
    state,
    queue,
    policy: { ...policy, sweepEveryMs: 300_000, sweepListEveryMs: 3_600_000, sweepClassifyEveryMs: DAY },
    logger,
    now: () => NOW,
    ...(concurrency !== undefined && { concurrency }),
  });
  const classifyAll = (ids: number[], canBlock: number[]) => {
    for (const id of ids) state.classified.set(id, NOW - 1_000);
    state.blocking = new Set(canBlock);
  };

  beforeEach(() => {
    gitlab = new FakeGitLab();
    state = new FakeState();
    queue = new SweepQueue();
    logger = new CapturingLogger();
  });

  it('classifies every project of the policy and every project seen in a webhook first, once each', async () => {
    gitlab.projects.set('acme/web', 1).set(2, 2);
    gitlab.groups.set('acme', [1, 3, 4, 5]);
    state.known = new Set([2, 3, 7]);
    const report = await sweepDeployments(deps({ projects: ['acme/web', 2], groups: ['acme'] }), {
      reason: 'scheduled',
    });
    expect(queue.scans.map((s) => s.projectId).sort()).toEqual([1, 2, 3, 4, 5, 7]);
    expect(queue.scans.every((s) => s.classify && s.reason === 'sweep: scheduled')).toBe(true);
    expect(report).toMatchObject({ projects: 6, listed: true, classified: 6, scanned: 0, missing: [], failed: 0 });
    // the listing carried what cards need: no project is read one by one
    expect(state.info.get(4)).toEqual(listed(4));
    expect(gitlab.calls).toEqual(['acme', 'acme/web', 2]);
  });

  it('scans only projects that can block and projects with open cards, and reads each open card once', async () => {
    gitlab.groups.set('acme', [1, 2, 3, 4]);
    await sweepDeployments(deps({ projects: [], groups: ['acme'] }), { reason: 'start', fullListing: true });
    classifyAll([1, 2, 3, 4], [2]);
    state.open = [{ projectId: 4, deploymentId: 40 }];
    queue.scans.length = 0;
    gitlab.calls.length = 0;
    const report = await sweepDeployments(deps({ projects: [], groups: ['acme'] }), { reason: 'scheduled' });
    expect(queue.scans.map((s) => [s.projectId, s.classify ?? false])).toEqual([
      [2, false],
      [4, false],
    ]);
    expect(queue.syncs).toEqual([{ projectId: 4, deploymentId: 40, reason: 'sweep: scheduled' }]);
    expect(report).toMatchObject({ listed: false, classified: 0, scanned: 2, openCards: 1 });
    expect(gitlab.calls).toEqual([]); // the listing is fresh: GitLab is not asked anything by the sweep itself
  });

  it('classifies a project again once its classification is older than classify_every', async () => {
    gitlab.groups.set('acme', [1, 2]);
    state.fresh = NOW - 120_000;
    state.listedIds = new Set([1, 2]);
    classifyAll([1, 2], []);
    state.classified.set(2, NOW - DAY - 1);
    await sweepDeployments(deps({ projects: [], groups: ['acme'] }), { reason: 'scheduled' });
    expect(queue.scans).toMatchObject([{ projectId: 2, classify: true }]);
  });

  it('runs everything in the background, spread over half the interval', async () => {
    state.fresh = NOW - 120_000;
    state.listedIds = new Set([1, 2, 3]);
    classifyAll([1, 2, 3], [1, 2, 3]);
    state.open = [{ projectId: 1, deploymentId: 10 }];
    await sweepDeployments(deps({ projects: [], groups: [] }), { reason: 'scheduled' });
    const placements = [...queue.scans.map((s) => s.placement!), ...queue.placements];
    expect(placements.every((p) => p.background)).toBe(true);
    expect(placements.map((p) => p.delayMs)).toEqual([0, 1_000, 2_000, 3_000]);
    queue.scans.length = 0;
    state.listedIds = new Set(Array.from({ length: 1_000 }, (_, i) => i + 1));
    classifyAll([...state.listedIds], [...state.listedIds]);
    await sweepDeployments(deps({ projects: [], groups: [] }), { reason: 'scheduled' });
    // 80 % of the 5-minute interval
    expect(queue.scans.at(-1)!.placement!.delayMs).toBeLessThan(240_000);
    expect(queue.scans.at(-1)!.placement!.delayMs).toBeGreaterThan(230_000);
  });

  it("says when its work does not fit the sweep's GitLab budget within one interval", async () => {
    state.fresh = NOW - 120_000;
    state.listedIds = new Set([1, 2, 3, 4]);
    classifyAll([1, 2, 3, 4], [1, 2, 3, 4]);
    state.open = [{ projectId: 1, deploymentId: 10 }];
    const sweep = (budgetPerMinute: number) =>
      sweepDeployments({ ...deps({ projects: [], groups: [] }), budgetPerMinute }, { reason: 'scheduled' });
    // 4 scans and 1 card: 5 jobs; 2 a minute allow 8 within 80 % of 5 minutes, 1 a minute only 4
    expect((await sweep(2)).fitsBudget).toBe(true);
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect((await sweep(1)).fitsBudget).toBe(false);
    expect(logger.lines.find((l) => l.level === 'warn')).toMatchObject({
      jobs: 5,
      allowed: 4,
      msg: expect.stringContaining('raise GITLAB_SWEEP_RATE_LIMIT or sweep.every'),
    });
    expect((await sweep(0)).fitsBudget).toBe(true);
    // after a data loss (or a first start) every project is classified at once: a one-off over the quota (1,500 at
    // a 5-minute interval), not a budget too small; 400 a minute allow 1,600 jobs
    state.classified.clear();
    state.blocking.clear();
    state.open = [];
    state.listedIds = new Set(Array.from({ length: 2_000 }, (_, i) => i + 1));
    logger.lines.length = 0;
    const afterLoss = await sweepDeployments(
      { ...deps({ projects: [], groups: [] }), budgetPerMinute: 400 },
      { reason: 'redis lost data', classifyAll: true },
    );
    expect(afterLoss).toMatchObject({ classified: 2_000, fitsBudget: true });
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('classifies a bounded number of projects per sweep, never-classified ones first', async () => {
    state.fresh = NOW - 120_000;
    state.listedIds = new Set(Array.from({ length: 2_000 }, (_, i) => i + 1));
    classifyAll([...state.listedIds], []);
    for (let id = 1_001; id <= 2_000; id += 1) state.classified.delete(id);
    for (let id = 1; id <= 1_000; id += 1) state.classified.set(id, NOW - DAY - id);
    const report = await sweepDeployments(deps({ projects: [], groups: [] }), { reason: 'scheduled' });
    // 300 a minute of the 5-minute interval
    expect(report).toMatchObject({ classified: 1_500, classificationPending: 500 });
    const classified = queue.scans.map((s) => s.projectId);
    expect(classified.slice(0, 1_000).every((id) => id > 1_000)).toBe(true);
    // then the oldest classifications
    expect(classified.at(-1)).toBe(501);
  });

  it('after Redis lost its data classifies every project in one sweep, not the quota: one could block', async () => {
    gitlab.groups.set(
      'acme',
      Array.from({ length: 2_000 }, (_, i) => i + 1),
    );
    // nothing known: no listing, no classification, no project known to block
    const report = await sweepDeployments(deps({ projects: [], groups: ['acme'] }), {
      reason: 'redis lost data',
      classifyAll: true,
    });
    expect(report).toMatchObject({ listed: true, classified: 2_000, classificationPending: 0 });
    expect(new Set(queue.scans.filter((s) => s.classify).map((s) => s.projectId)).size).toBe(2_000);
    // still spread over 80 % of the interval
    expect(queue.scans.at(-1)!.placement!.delayMs).toBeLessThan(240_000);
  });

  it('resolves policy paths once', async () => {
    gitlab.projects.set('acme/web', 1);
    await sweepDeployments(deps({ projects: ['acme/web'], groups: [] }), { reason: 'a', fullListing: true });
    state.fresh = NOW - 120_000;
    const report = await sweepDeployments(deps({ projects: ['acme/web'], groups: [] }), {
      reason: 'b',
      fullListing: true,
    });
    expect(report.listed).toBe(true);
    expect(gitlab.calls).toEqual(['acme/web']);
  });

  it('lists again when asked to, unless a listing has just finished (the first two sweeps of a start)', async () => {
    gitlab.groups.set('acme', [1]);
    await sweepDeployments(deps({ projects: [], groups: ['acme'] }), { reason: 'scheduled' });
    const again = await sweepDeployments(deps({ projects: [], groups: ['acme'] }), {
      reason: 'worker started',
      fullListing: true,
    });
    expect(again.listed).toBe(false);
    expect(gitlab.calls).toEqual(['acme']);
  });

  it('reports policy projects and groups GitLab does not show', async () => {
    const report = await sweepDeployments(deps({ projects: ['acme/gone', 404], groups: ['ghosts'] }), {
      reason: 'scheduled',
    });
    expect(report.missing).toEqual(['ghosts', 'acme/gone', 404]);
    expect(logger.lines.find((l) => l.msg.startsWith('sweep: projects or groups'))).toMatchObject({
      level: 'warn',
      missing: ['ghosts', 'acme/gone', 404],
    });
  });

  it('keeps at most `concurrency` GitLab calls in flight', async () => {
    const many = Array.from({ length: 20 }, (_, i) => `acme/p${i + 1}`);
    many.forEach((path, i) => gitlab.projects.set(path, i + 1));
    await sweepDeployments(deps({ projects: many, groups: [] }, 3), { reason: 'scheduled' });
    expect(gitlab.maxInFlight).toBe(3);
    expect(queue.scans).toHaveLength(20);
  });

  it('keeps projects of a group it could not list, rethrows a rate limit: the sweep runs again', async () => {
    gitlab.groups.set('acme', [4, 5]);
    await sweepDeployments(deps({ projects: [], groups: ['acme'] }), { reason: 'start' });
    gitlab.projects.set('acme/one', 1);
    state.fresh = NOW - 120_000;
    gitlab.failing.set(
      'acme',
      new GreenlightError('gitlab_rate_limited', 'GitLab rate-limited', { retryAfterMs: 30_000 }),
    );
    state.open = [{ projectId: 1, deploymentId: 10 }];
    queue.scans.length = 0;
    const error = await sweepDeployments(deps({ projects: ['acme/one'], groups: ['acme'] }), {
      reason: 'scheduled',
      fullListing: true,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'gitlab_rate_limited', retryAfterMs: 30_000 });
    expect([...state.listedIds].sort()).toEqual([1, 4, 5]);
    expect(queue.syncs).toHaveLength(1);
    // the listing cut short is not fresh: the sweep's retry lists again (and now sees the group's new project)
    gitlab.failing.clear();
    gitlab.groups.set('acme', [4, 5, 6]);
    const retried = await sweepDeployments(deps({ projects: ['acme/one'], groups: ['acme'] }), {
      reason: 'scheduled',
      fullListing: true,
    });
    expect(retried.listed).toBe(true);
    expect([...state.listedIds].sort()).toEqual([1, 4, 5, 6]);
    expect(state.fresh).toBe(NOW);
  });

  it('a listing that met only failures another try cannot fix (403) is fresh: no listing every sweep', async () => {
    gitlab.groups.set('acme', [4]);
    gitlab.failing.set('acme/two', new GreenlightError('gitlab_forbidden', '403 Forbidden'));
    await sweepDeployments(deps({ projects: ['acme/two'], groups: ['acme'] }), { reason: 'start' });
    expect(state.fresh).toBe(NOW);
    const next = await sweepDeployments(deps({ projects: ['acme/two'], groups: ['acme'] }), { reason: 'scheduled' });
    expect(next.listed).toBe(false);
  });

  it('does not retry for failures another try cannot fix (403), but logs them', async () => {
    gitlab.projects.set('acme/one', 1);
    gitlab.failing.set('acme/two', new GreenlightError('gitlab_forbidden', '403 Forbidden'));
    const report = await sweepDeployments(deps({ projects: ['acme/one', 'acme/two'], groups: [] }), {
      reason: 'scheduled',
    });
    expect(report.failed).toBe(1);
    expect(queue.scans.map((s) => s.projectId)).toEqual([1]);
    expect(logger.lines.find((l) => l.msg === 'sweep: some projects could not be listed')).toMatchObject({
      code: 'gitlab_forbidden',
    });
  });
});
