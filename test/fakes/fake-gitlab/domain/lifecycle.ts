// Pipeline -> job -> deployment lifecycle, with the webhooks each transition triggers (§1.1, §2).
// One job per pipeline, so the pipeline's status simply follows its job's.
import { createHash } from 'node:crypto';
import { lookup } from '../entities.ts';
import type { Ctx, DeploymentHookStatus } from '../context.ts';
import {
  nextId,
  nextIid,
  type DeploymentRec,
  type DeploymentStatus,
  type EnvironmentRec,
  type JobRec,
  type JobStatus,
  type PipelineJobRec,
  type PipelineJobStatus,
  type PipelineRec,
  type ProjectRec,
  type RepoCommitRec,
  type State,
  type Tier,
  type UserRec,
} from '../model.ts';
import { needsApproval } from './summary.ts';
import { addCommit, branchHead, findCommit } from './repository.ts';

export interface CreateDeploymentInput {
  projectId: number;
  environment: string;
  tier?: Tier;
  externalUrl?: string | null;
  ref?: string;
  sha?: string;
  commitTitle?: string;
  /** Pipeline triggerer: becomes deployment.user and the job's user. */
  userId: number;
  /** Author of the deployed commit; default the triggerer (set it when a bot triggers someone's commit). */
  commitAuthor?: { name: string; email: string };
  /** `when: manual` job: blocked with nothing pending unless the environment has approval rules. */
  manual?: boolean;
  jobName?: string;
  stage?: string;
  /**
   * The pipeline's other jobs (tests, builds, ...), in the state they are in when the deployment job is created.
   * They are listed by the pipeline jobs API and count in the pipeline's status; they send no webhooks.
   */
  pipelineJobs?: Array<{ name: string; stage?: string; status: PipelineJobStatus; allowFailure?: boolean }>;
}

/** Environment#guess_tier. */
export function guessTier(name: string): Tier {
  if (/(dev|review|trunk)/i.test(name)) return 'development';
  if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return 'testing';
  if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return 'staging';
  if (/(pr(o|)d|live)/i.test(name)) return 'production';
  return 'other';
}

/** Gitlab::Slug::Environment. */
export function environmentSlug(name: string): string {
  let slug = name.toLowerCase().replace(/[^a-z0-9]/g, '-');
  if (!/^[a-z]/.test(slug)) slug = `env-${slug}`;
  slug = slug.replace(/-+/g, '-');
  if (slug.length > 24 || slug !== name) {
    const suffix = createHash('sha256').update(name).digest('hex').slice(-6);
    return `${slug.slice(0, 17)}-${suffix}`;
  }
  return slug.replace(/-$/, '');
}

function findOrCreateEnvironment(ctx: Ctx, input: CreateDeploymentInput, now: number): EnvironmentRec {
  const { state } = ctx;
  const existing = [...state.environments.values()].find(
    (e) => e.projectId === input.projectId && e.name === input.environment,
  );
  if (existing) {
    if (input.tier !== undefined) existing.tier = input.tier;
    if (input.externalUrl !== undefined) existing.externalUrl = input.externalUrl;
    existing.updatedAt = now;
    return existing;
  }
  const env: EnvironmentRec = {
    id: nextId(state, 'environment'),
    projectId: input.projectId,
    name: input.environment,
    slug: environmentSlug(input.environment),
    externalUrl: input.externalUrl ?? null,
    tier: input.tier ?? guessTier(input.environment),
    createdAt: now,
    updatedAt: now,
  };
  state.environments.set(env.id, env);
  return env;
}

/**
 * The deployed commit: a known one when `sha` names it, otherwise a new commit on top of the ref's branch (so
 * that deployments without explicit commits still form a history).
 */
function deployedCommit(
  ctx: Ctx,
  project: ProjectRec,
  input: CreateDeploymentInput,
  user: UserRec,
  ref: string,
  pipelineId: number,
): RepoCommitRec {
  const known = input.sha === undefined ? undefined : findCommit(ctx.state, project.id, input.sha);
  if (known) return known;
  const head = branchHead(ctx.state, project.id, ref);
  const commit = addCommit(
    ctx,
    project,
    {
      title: input.commitTitle ?? 'Update deployment',
      sha: input.sha ?? createHash('sha1').update(`${project.id}:${pipelineId}`).digest('hex'),
    },
    head === undefined ? [] : [head],
    input.commitAuthor ?? { name: user.name, email: user.email },
  );
  ctx.state.branches.set(`${project.id}:${ref}`, commit.sha);
  return commit;
}

export function createDeployment(ctx: Ctx, input: CreateDeploymentInput): DeploymentRec {
  const { state } = ctx;
  const project = lookup(state.projects, input.projectId, 'project');
  const user = lookup(state.users, input.userId, 'user');
  const now = ctx.clock.now();
  const environment = findOrCreateEnvironment(ctx, input, now);
  const pipelineId = nextId(state, 'pipeline');
  const ref = input.ref ?? project.defaultBranch;
  const deployed = deployedCommit(ctx, project, input, user, ref, pipelineId);
  const sha = deployed.sha;
  const pipeline: PipelineRec = {
    id: pipelineId,
    iid: nextIid(state, project.id, 'pipeline'),
    projectId: project.id,
    ref,
    commit: {
      sha,
      title: deployed.title,
      message: deployed.message,
      authorName: deployed.authorName,
      authorEmail: deployed.authorEmail,
      createdAt: deployed.createdAt,
    },
    status: 'created',
    userId: user.id,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    otherJobIds: [],
  };
  for (const other of input.pipelineJobs ?? []) {
    const finished = ['success', 'failed', 'canceled'].includes(other.status);
    const job: PipelineJobRec = {
      id: nextId(state, 'job'),
      projectId: project.id,
      pipelineId,
      name: other.name,
      stage: other.stage ?? 'test',
      status: other.status,
      allowFailure: other.allowFailure ?? false,
      userId: user.id,
      createdAt: now,
      startedAt: finished || other.status === 'running' ? now : null,
      finishedAt: finished ? now : null,
    };
    state.pipelineJobs.set(job.id, job);
    pipeline.otherJobIds.push(job.id);
  }
  const gated = needsApproval(state, environment) || input.manual === true;
  const job: JobRec = {
    id: nextId(state, 'job'),
    projectId: project.id,
    pipelineId,
    name: input.jobName ?? `deploy-${environment.slug}`,
    stage: input.stage ?? 'deploy',
    status: 'created',
    when: gated ? 'manual' : 'on_success',
    userId: user.id,
    failureReason: null,
    environmentId: environment.id,
    deploymentId: 0,
    createdAt: now,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
  };
  const deployment: DeploymentRec = {
    id: nextId(state, 'deployment'),
    iid: nextIid(state, project.id, 'deployment'),
    projectId: project.id,
    environmentId: environment.id,
    pipelineId,
    jobId: job.id,
    ref: pipeline.ref,
    sha,
    status: 'created',
    userId: user.id,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  };
  job.deploymentId = deployment.id;
  state.pipelines.set(pipeline.id, pipeline);
  state.jobs.set(job.id, job);
  state.deployments.set(deployment.id, deployment);

  ctx.emit({ kind: 'job', jobId: job.id, at: now });
  if (gated) {
    transitionJob(ctx, job, 'manual');
  } else {
    transitionJob(ctx, job, 'pending');
    transitionJob(ctx, job, 'running');
  }
  return deployment;
}

const FINISHED: readonly JobStatus[] = ['success', 'failed', 'canceled'];
const DEPLOYMENT_FOR_JOB: Partial<Record<JobStatus, DeploymentStatus & DeploymentHookStatus>> = {
  manual: 'blocked',
  running: 'running',
  success: 'success',
  failed: 'failed',
  canceled: 'canceled',
};

/**
 * Move a job, then its deployment (Deployment#sync_status_with) and pipeline, firing:
 * a Job Hook (except for -> manual), a Deployment Hook when the deployment changes, a Pipeline Hook
 * when the pipeline changes.
 */
export function transitionJob(ctx: Ctx, job: JobRec, status: JobStatus, failureReason: string | null = null): void {
  const { state } = ctx;
  const now = ctx.clock.now();
  job.status = status;
  if (status === 'pending') job.queuedAt = now;
  if (status === 'running') job.startedAt = now;
  if (FINISHED.includes(status)) job.finishedAt = now;
  job.failureReason = status === 'failed' ? (failureReason ?? 'script_failure') : null;
  if (status !== 'manual') ctx.emit({ kind: 'job', jobId: job.id, at: now });

  const deployment = lookup(state.deployments, job.deploymentId, 'deployment');
  const next = DEPLOYMENT_FOR_JOB[status];
  if (next !== undefined && next !== deployment.status) {
    deployment.status = next;
    deployment.updatedAt = now;
    if (FINISHED.includes(status)) deployment.finishedAt = now;
    ctx.emit({ kind: 'deployment', deploymentId: deployment.id, status: next, at: now });
  }

  const pipeline = lookup(state.pipelines, job.pipelineId, 'pipeline');
  const composite = pipelineStatus(state, pipeline, status);
  if (pipeline.status !== composite) {
    pipeline.status = composite;
    pipeline.updatedAt = now;
    if (composite === 'running' && pipeline.startedAt === null) pipeline.startedAt = now;
    if (FINISHED.includes(composite)) pipeline.finishedAt = now;
    ctx.emit({ kind: 'pipeline', pipelineId: pipeline.id, at: now });
  }
}

/**
 * Gitlab::Ci::Status::Composite over the deployment job and the pipeline's other jobs: jobs allowed to fail
 * count as passed (with warnings); a manual job outranks a failed one.
 */
export function pipelineStatus(state: State, pipeline: PipelineRec, deployJob: JobStatus): JobStatus {
  const statuses = [
    deployJob as string,
    ...pipeline.otherJobIds.map((id) => {
      const job = lookup(state.pipelineJobs, id, 'job');
      return job.allowFailure && (job.status === 'failed' || job.status === 'canceled') ? 'warning' : job.status;
    }),
  ];
  const only = (...allowed: string[]) => statuses.every((s) => allowed.includes(s));
  const any = (...wanted: string[]) => statuses.some((s) => wanted.includes(s));
  if (only('success', 'skipped', 'warning')) return 'success';
  if (only('created', 'warning')) return 'created';
  if (only('canceled', 'success', 'skipped', 'warning')) return 'canceled';
  if (only('pending', 'created', 'skipped', 'warning')) return 'pending';
  if (any('running', 'pending')) return 'running';
  if (any('manual')) return 'manual';
  if (any('created')) return 'running';
  return 'failed';
}

export function jobOf(state: State, deployment: DeploymentRec): JobRec {
  return lookup(state.jobs, deployment.jobId, 'job');
}
