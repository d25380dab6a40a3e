import { beforeEach, describe, expect, it } from 'vitest';
import { handleWebhookEvent, type HandleWebhookDeps } from '../../../src/core/intake/handle-webhook-event.ts';
import { CapturingLogger, FakeGitLabReader, FakeQueue } from '../../fakes/in-memory.ts';
import { waitingDeployment } from '../../fixtures/deployments.ts';

class ScanningQueue extends FakeQueue {
  readonly scans: Array<{ projectId: number; environments: string[]; reason: string }> = [];
  async requestScan(job: { projectId: number; environments: string[]; reason: string }) {
    this.scans.push(job);
  }
}

/** Projects as the worker remembers them: seen, and whether their deployment hooks report `blocked`. */
class FakeProjects {
  readonly seen: number[] = [];
  readonly reporting = new Set<number>();
  async remember(projectId: number, opts: { reportsBlocked: boolean }) {
    this.seen.push(projectId);
    if (opts.reportsBlocked) this.reporting.add(projectId);
  }
  async reportsBlocked(projectId: number) {
    return this.reporting.has(projectId);
  }
}

describe('handleWebhookEvent: what a GitLab delivery triggers', () => {
  let gitlab: FakeGitLabReader;
  let queue: ScanningQueue;
  let projects: FakeProjects;
  let deps: HandleWebhookDeps;

  beforeEach(() => {
    gitlab = new FakeGitLabReader();
    queue = new ScanningQueue();
    projects = new FakeProjects();
    deps = { gitlab, queue, projects, logger: new CapturingLogger() };
  });

  const deployment = (status: string, deploymentId: number | null = 4711) =>
    ({
      kind: 'deployment',
      projectId: 42,
      projectPath: 'acme/web',
      deploymentId,
      status,
      statusChangedAt: null,
      environment: 'production',
      lookup: { deployableId: 9001, shortSha: null },
    }) as const;

  it('a GitLab 19.3+ `blocked` deployment hook syncs its deployment and needs no scan', async () => {
    await handleWebhookEvent(deps, deployment('blocked'));
    expect(queue.syncs).toEqual([{ projectId: 42, deploymentId: 4711, reason: 'deployment hook: blocked' }]);
    expect(queue.scans).toEqual([]);
    expect(projects.seen).toEqual([42]);
  });

  it('an older deployment hook (`running`) syncs its deployment and scans the project', async () => {
    await handleWebhookEvent(deps, deployment('running'));
    expect(queue.syncs).toHaveLength(1);
    expect(queue.scans).toEqual([{ projectId: 42, environments: [], reason: 'deployment hook: running' }]);
  });

  it('a hook without deployment_id finds its deployment by its job; else scans its environment', async () => {
    const d = waitingDeployment();
    gitlab.put({ ...d, job: { ...d.job!, id: 9001 } });
    await handleWebhookEvent(deps, { ...deployment('running', null), projectId: d.project.id });
    expect(queue.syncs).toEqual([{ projectId: d.project.id, deploymentId: d.id, reason: 'deployment hook: running' }]);

    await handleWebhookEvent(deps, { ...deployment('running', null), lookup: { deployableId: 1, shortSha: null } });
    expect(queue.scans.at(-1)).toEqual({
      projectId: 42,
      environments: ['production'],
      reason: 'deployment hook: running',
    });
  });

  it("pipeline and job hooks scan, unless the project's deployment hooks report blocked deployments", async () => {
    await handleWebhookEvent(deps, {
      kind: 'pipeline',
      projectId: 42,
      projectPath: 'acme/web',
      status: 'manual',
      environments: [],
    });
    await handleWebhookEvent(deps, {
      kind: 'pipeline',
      projectId: 42,
      projectPath: 'acme/web',
      status: 'success',
      environments: [],
    });
    await handleWebhookEvent(deps, {
      kind: 'job',
      projectId: 42,
      status: 'manual',
      environment: 'staging',
      failureReason: null,
    });
    expect(queue.scans.map((s) => [s.environments, s.reason])).toEqual([
      [[], 'pipeline hook: manual'],
      [['staging'], 'job hook: manual'],
    ]);
    await handleWebhookEvent(deps, deployment('blocked'));
    await handleWebhookEvent(deps, {
      kind: 'job',
      projectId: 42,
      status: 'manual',
      environment: 'staging',
      failureReason: null,
    });
    expect(queue.scans).toHaveLength(2);
  });

  it("tells the sweep's classification which hooks name environments or report a blocked deployment", async () => {
    const noted: Array<[number, { blocked: boolean }]> = [];
    deps = { ...deps, noteHook: async (projectId, hook) => void noted.push([projectId, hook]) };
    await handleWebhookEvent(deps, deployment('blocked'));
    await handleWebhookEvent(deps, deployment('running'));
    await handleWebhookEvent(deps, {
      kind: 'pipeline',
      projectId: 43,
      projectPath: 'acme/api',
      status: 'running',
      environments: [],
    });
    await handleWebhookEvent(deps, {
      kind: 'job',
      projectId: 44,
      status: 'manual',
      environment: 'staging',
      failureReason: null,
    });
    expect(noted).toEqual([
      [42, { blocked: true }],
      [42, { blocked: false }],
      [44, { blocked: false }],
    ]);
  });
});
