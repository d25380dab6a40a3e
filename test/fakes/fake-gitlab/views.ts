// Read-only snapshots of internal state for tests (fake.getDeployment, fake.getJob).
import type { Ctx } from './context.ts';
import { approvalSummaryStatus, approvalsOf, environmentOf, pendingApprovalCount } from './domain/summary.ts';
import { lookup } from './entities.ts';
import type { ApprovalRec, DeploymentStatus, JobRec, PipelineRec, Tier } from './model.ts';

export type JobView = Readonly<JobRec>;
export type PipelineView = Readonly<Omit<PipelineRec, 'commit'>> & { readonly commit: Readonly<PipelineRec['commit']> };
export type ApprovalView = Readonly<ApprovalRec>;

export interface DeploymentView {
  readonly id: number;
  readonly iid: number;
  readonly projectId: number;
  readonly environmentId: number;
  readonly environment: string;
  readonly tier: Tier;
  readonly status: DeploymentStatus;
  /** Creator (triggerer). */
  readonly userId: number;
  readonly ref: string;
  readonly sha: string;
  readonly jobId: number;
  readonly pipelineId: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  readonly pendingApprovalCount: number;
  /** GraphQL-style summary status, computed per §4. */
  readonly approvalStatus: 'approved' | 'rejected' | 'pending_approval';
  readonly approvals: readonly ApprovalView[];
  readonly job: JobView;
  readonly pipeline: PipelineView;
}

export function jobView(job: JobRec): JobView {
  return { ...job };
}

export function deploymentView(ctx: Ctx, id: number): DeploymentView | undefined {
  const { state } = ctx;
  const d = state.deployments.get(id);
  if (!d) return undefined;
  const environment = environmentOf(state, d);
  const pipeline = lookup(state.pipelines, d.pipelineId, 'pipeline');
  return {
    id: d.id,
    iid: d.iid,
    projectId: d.projectId,
    environmentId: d.environmentId,
    environment: environment.name,
    tier: environment.tier,
    status: d.status,
    userId: d.userId,
    ref: d.ref,
    sha: d.sha,
    jobId: d.jobId,
    pipelineId: d.pipelineId,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    finishedAt: d.finishedAt,
    pendingApprovalCount: pendingApprovalCount(state, d),
    approvalStatus: approvalSummaryStatus(state, d),
    approvals: approvalsOf(state, d.id).map((a) => ({ ...a })),
    job: jobView(lookup(state.jobs, d.jobId, 'job')),
    pipeline: { ...pipeline, commit: { ...pipeline.commit } },
  };
}
