// What runners and people do to a deployment job: play (§4), run, finish, cancel.
import { canDeployTo, hasRole } from '../access.ts';
import { fail, failMessage, ok, type Ctx, type Outcome } from '../context.ts';
import { lookup } from '../entities.ts';
import { ACCESS, nextId, type DeploymentRec, type JobRec, type PipelineJobRec, type UserRec } from '../model.ts';
import { pipelineStatus, transitionJob } from './lifecycle.ts';
import { pendingApprovalCount } from './summary.ts';

/**
 * POST /jobs/:id/play checks, in the API's order: permission (Developer + deploy access to every
 * matching protected environment) -> 403, then playable (manual and nothing pending) -> 400.
 * On success the job is `pending` and played by `actor` (deployment hooks will show them as `user`).
 */
export function playJob(ctx: Ctx, job: JobRec, actor: UserRec): Outcome<JobRec> {
  const { state } = ctx;
  const project = lookup(state.projects, job.projectId, 'project');
  const environment = lookup(state.environments, job.environmentId, 'environment');
  if (!hasRole(state, actor, project, ACCESS.developer) || !canDeployTo(state, actor, environment)) {
    return failMessage(403, '403 Forbidden');
  }
  const deployment = lookup(state.deployments, job.deploymentId, 'deployment');
  if (job.status !== 'manual' || pendingApprovalCount(state, deployment) > 0) {
    return fail(400, { message: '400 Bad request - Unplayable Job' });
  }
  job.userId = actor.id;
  transitionJob(ctx, job, 'pending');
  return ok(job);
}

/** A runner picks the job up: pending -> running (deployment -> running). */
export function runJob(ctx: Ctx, job: JobRec): JobRec {
  if (job.status !== 'pending') throw new Error(`fake GitLab: job ${job.id} is ${job.status}, not pending`);
  transitionJob(ctx, job, 'running');
  return job;
}

export function finishJob(ctx: Ctx, job: JobRec, result: 'success' | 'failed'): JobRec {
  if (job.status === 'pending') runJob(ctx, job);
  if (job.status !== 'running') {
    throw new Error(`fake GitLab: job ${job.id} is ${job.status}; only a pending or running job can finish`);
  }
  transitionJob(ctx, job, result);
  return job;
}

export function cancelDeployment(ctx: Ctx, deployment: DeploymentRec): DeploymentRec {
  const job = lookup(ctx.state.jobs, deployment.jobId, 'job');
  if (!['created', 'pending', 'running', 'manual'].includes(job.status)) {
    throw new Error(`fake GitLab: deployment ${deployment.id} is ${deployment.status}; nothing to cancel`);
  }
  transitionJob(ctx, job, 'canceled');
  return deployment;
}

/** A rejection drops the manual job (not retryable). False when the job cannot be dropped any more. */
export function dropForRejection(ctx: Ctx, deployment: DeploymentRec): boolean {
  const job = lookup(ctx.state.jobs, deployment.jobId, 'job');
  if (!['created', 'pending', 'running', 'manual'].includes(job.status)) return false;
  transitionJob(ctx, job, 'failed', 'deployment_rejected');
  return true;
}

/**
 * A job of the pipeline other than the deployment job finishes (`success`, `failed`), or is retried
 * (Ci::RetryJobService: the job becomes `retried`, which the jobs API no longer lists without `include_retried`,
 * and a new job with its name and stage is `pending`; no new deployment, since the job deploys nothing). The
 * pipeline's status follows (Composite, as transitionJob), moving its updated_at and sending a Pipeline Hook when
 * it changes; the job itself sends no Job Hook (like the other jobs of createDeployment).
 */
export function updatePipelineJob(
  ctx: Ctx,
  pipelineId: number,
  name: string,
  action: 'success' | 'failed' | 'retry',
): PipelineJobRec {
  const { state } = ctx;
  const now = ctx.clock.now();
  const pipeline = lookup(state.pipelines, pipelineId, 'pipeline');
  const id = pipeline.otherJobIds.find((jobId) => lookup(state.pipelineJobs, jobId, 'job').name === name);
  if (id === undefined) throw new Error(`fake GitLab: pipeline ${pipelineId} has no job ${name}`);
  let job = lookup(state.pipelineJobs, id, 'job');
  if (action === 'retry') {
    if (!['failed', 'canceled', 'success'].includes(job.status))
      throw new Error(`fake GitLab: job ${job.id} is ${job.status}; only a finished job can be retried`);
    job = { ...job, id: nextId(state, 'job'), status: 'pending', createdAt: now, startedAt: null, finishedAt: null };
    state.pipelineJobs.set(job.id, job);
    pipeline.otherJobIds = pipeline.otherJobIds.map((jobId) => (jobId === id ? job.id : jobId));
  } else {
    if (!['pending', 'running'].includes(job.status))
      throw new Error(`fake GitLab: job ${job.id} is ${job.status}; only a pending or running job can finish`);
    job.status = action;
    job.startedAt ??= now;
    job.finishedAt = now;
  }
  const deployment = [...state.deployments.values()].find((d) => d.pipelineId === pipeline.id);
  const deployJob = deployment ? lookup(state.jobs, deployment.jobId, 'job') : null;
  const composite = pipelineStatus(state, pipeline, deployJob?.status ?? 'success');
  if (pipeline.status !== composite) {
    pipeline.status = composite;
    pipeline.updatedAt = now;
    ctx.emit({ kind: 'pipeline', pipelineId: pipeline.id, at: now });
  }
  return job;
}
