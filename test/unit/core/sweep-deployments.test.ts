import { beforeEach, describe, expect, it } from 'vitest';
import { GreenlightError } from '../../../src/core/errors.ts';
import { sweepDeployments, type SweepDeps, type SweepSources } from '../../../src/core/intake/sweep-deployments.ts';
import type { DeploymentRef } from '../../../src/core/ports.ts';
import { CapturingLogger, FakeQueue } from '../../fakes/in-memory.ts';

/** GitLab and Redis as the sweep sees them, with failures and a gauge of concurrent calls. */
class FakeSources implements SweepSources {
  known = new Set<number>();
  projects = new Map<string | number, number>();
  groups = new Map<string | number, number[]>();
  open: DeploymentRef[] = [];
  failing = new Map<string | number, Error>();
  inFlight = 0;
  maxInFlight = 0;

  async #gitlab<T>(key: string | number, fn: () => T): Promise<T> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight -= 1;
    const failure = this.failing.get(key);
    if (failure) throw failure;
    return fn();
  }
  async knownProjects() {
    return [...this.known];
  }
  async forgetProject(id: number) {
    this.known.delete(id);
  }
  projectId(project: string | number) {
    return this.#gitlab(project, () => this.projects.get(project) ?? null);
  }
  groupProjectIds(group: string | number) {
    return this.#gitlab(group, () => {
      const ids = this.groups.get(group);
      if (!ids) throw new GreenlightError('gitlab_not_found', '404 Group Not Found');
      return ids;
    });
  }
  async openCards() {
    return this.open;
  }
}

class SweepQueue extends FakeQueue {
  readonly scans: Array<{ projectId: number; reason: string }> = [];
  async requestScan(job: { projectId: number; environments: string[]; reason: string }) {
    this.scans.push({ projectId: job.projectId, reason: job.reason });
  }
}

describe('sweepDeployments', () => {
  let sources: FakeSources;
  let queue: SweepQueue;
  let logger: CapturingLogger;
  const deps = (policy: SweepDeps['policy'], concurrency?: number): SweepDeps => ({
    sources,
    queue,
    policy,
    logger,
    ...(concurrency !== undefined && { concurrency }),
  });

  beforeEach(() => {
    sources = new FakeSources();
    queue = new SweepQueue();
    logger = new CapturingLogger();
  });

  it(
    'scans policy projects, every project of policy ' + 'groups and every project seen in a webhook, once each',
    async () => {
      sources.projects.set('acme/web', 1).set(2, 2).set(3, 3).set(7, 7);
      sources.groups.set('acme', [1, 3, 4, 5]);
      sources.known = new Set([2, 3, 7]);
      const report = await sweepDeployments(deps({ projects: ['acme/web', 2], groups: ['acme'] }), {
        reason: 'scheduled',
      });
      expect(queue.scans.map((s) => s.projectId).sort()).toEqual([1, 2, 3, 4, 5, 7]);
      expect(queue.scans.every((s) => s.reason === 'sweep: scheduled')).toBe(true);
      expect(report).toMatchObject({ projects: 6, missing: [], forgotten: [], failed: 0 });
    },
  );

  it('re-reads every open card, so cards of deployments decided while events were lost catch up', async () => {
    sources.open = [
      { projectId: 1, deploymentId: 10 },
      { projectId: 9, deploymentId: 90 },
    ];
    const report = await sweepDeployments(deps({ projects: [], groups: [] }), { reason: 'scheduled' });
    expect(queue.syncs).toEqual([
      { projectId: 1, deploymentId: 10, reason: 'sweep: scheduled' },
      { projectId: 9, deploymentId: 90, reason: 'sweep: scheduled' },
    ]);
    expect(report.openCards).toBe(2);
  });

  it('reports policy projects and groups GitLab does not show, and forgets seen projects that are gone', async () => {
    sources.projects.set(5, 5);
    sources.known = new Set([5, 6]);
    const report = await sweepDeployments(deps({ projects: ['acme/gone'], groups: ['ghosts'] }), {
      reason: 'scheduled',
    });
    expect(report.missing).toEqual(['ghosts', 'acme/gone']);
    expect(report.forgotten).toEqual([6]);
    expect([...sources.known]).toEqual([5]);
    expect(queue.scans.map((s) => s.projectId)).toEqual([5]);
    expect(logger.lines.find((l) => l.msg.startsWith('sweep: projects or groups'))).toMatchObject({
      level: 'warn',
      missing: ['ghosts', 'acme/gone'],
    });
  });

  it('keeps at most `concurrency` GitLab calls in flight', async () => {
    const many = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const id of many) sources.projects.set(id, id);
    await sweepDeployments(deps({ projects: many, groups: [] }, 3), { reason: 'scheduled' });
    expect(sources.maxInFlight).toBe(3);
    expect(queue.scans).toHaveLength(20);
  });

  it('scans what it could, then rethrows a rate limit so that the whole sweep waits and runs again', async () => {
    sources.projects.set(1, 1).set(3, 3);
    sources.failing.set(2, new GreenlightError('gitlab_unavailable', 'GitLab answered 502'));
    sources.failing.set(
      'acme',
      new GreenlightError('gitlab_rate_limited', 'GitLab rate-limited', { retryAfterMs: 30_000 }),
    );
    sources.groups.set('acme', [4]);
    sources.open = [{ projectId: 1, deploymentId: 10 }];
    const error = await sweepDeployments(deps({ projects: [1, 2, 3], groups: ['acme'] }), {
      reason: 'scheduled',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'gitlab_rate_limited', retryAfterMs: 30_000 });
    expect(queue.scans.map((s) => s.projectId)).toEqual([1, 3]);
    expect(queue.syncs).toHaveLength(1);
  });

  it('does not retry for failures another try cannot fix (403), but logs them', async () => {
    sources.projects.set(1, 1);
    sources.failing.set(2, new GreenlightError('gitlab_forbidden', '403 Forbidden'));
    const report = await sweepDeployments(deps({ projects: [1, 2], groups: [] }), { reason: 'scheduled' });
    expect(report.failed).toBe(1);
    expect(queue.scans.map((s) => s.projectId)).toEqual([1]);
    expect(logger.lines.find((l) => l.msg === 'sweep: some projects could not be listed')).toMatchObject({
      code: 'gitlab_forbidden',
    });
  });
});
