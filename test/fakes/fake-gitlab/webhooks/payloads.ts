// Webhook bodies: Deployment Hook (§1.2, lib/gitlab/data_builder/deployment.rb), Pipeline Hook and
// Job Hook (§2). Built when the event happens, so later state changes do not leak into them.
import { iso, rubyTime, utcTime } from '../clock.ts';
import type { Ctx, DomainEvent } from '../context.ts';
import {
  approvalRuleEntity,
  avatarUrl,
  commitWebUrl,
  jobWebUrl,
  lookup,
  projectWebUrl,
  userWebUrl,
} from '../entities.ts';
import type { JobRec, PipelineRec, ProjectRec, UserRec } from '../model.ts';

type Json = Record<string, unknown>;

export type HookEventName = 'Deployment Hook' | 'Pipeline Hook' | 'Job Hook';

/** User#hook_attrs: email is "[REDACTED]" unless the user made an email public. */
export function userHookAttrs(user: UserRec): Json {
  return {
    id: user.id,
    name: user.name,
    username: user.username,
    avatar_url: avatarUrl(user),
    email: user.publicEmail ?? '[REDACTED]',
  };
}

const VISIBILITY_LEVEL = { private: 0, internal: 10, public: 20 } as const;

function namespaceName(ctx: Ctx, project: ProjectRec): string {
  if (project.groupId !== null) return lookup(ctx.state.groups, project.groupId, 'group').name;
  return lookup(ctx.state.users, project.ownerUserId ?? -1, 'user').name;
}

/** Project#hook_attrs. */
export function projectHookAttrs(ctx: Ctx, project: ProjectRec): Json {
  const web = projectWebUrl(ctx, project);
  const ssh = `ssh://git@${new URL(ctx.baseUrl()).host}/${project.pathWithNamespace}.git`;
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    web_url: web,
    avatar_url: null,
    git_ssh_url: ssh,
    git_http_url: `${web}.git`,
    namespace: namespaceName(ctx, project),
    visibility_level: VISIBILITY_LEVEL[project.visibility],
    path_with_namespace: project.pathWithNamespace,
    default_branch: project.defaultBranch,
    ci_config_path: '',
    homepage: web,
    url: ssh,
    ssh_url: ssh,
    http_url: `${web}.git`,
  };
}

function deploymentPayload(ctx: Ctx, event: Extract<DomainEvent, { kind: 'deployment' }>): Json {
  const { state } = ctx;
  const deployment = lookup(state.deployments, event.deploymentId, 'deployment');
  const project = lookup(state.projects, deployment.projectId, 'project');
  const environment = lookup(state.environments, deployment.environmentId, 'environment');
  const job = lookup(state.jobs, deployment.jobId, 'job');
  const pipeline = lookup(state.pipelines, deployment.pipelineId, 'pipeline');
  // deployed_by: the job's user (the person who played it) if any, else the creator.
  const deployedBy = lookup(state.users, job.userId, 'user');
  const isApproval = event.approvalId !== undefined;
  const payload: Json = {
    object_kind: 'deployment',
    status: event.status,
    status_changed_at: isApproval ? iso(event.at) : rubyTime(event.at),
    deployment_id: deployment.id,
    deployable_id: job.id,
    deployable_url: jobWebUrl(ctx, project, job),
    environment: environment.name,
    environment_tier: environment.tier,
    environment_slug: environment.slug,
    environment_external_url: environment.externalUrl,
    project: projectHookAttrs(ctx, project),
    short_sha: deployment.sha.slice(0, 8),
    user: userHookAttrs(deployedBy),
    user_url: userWebUrl(ctx, deployedBy),
    commit_url: commitWebUrl(ctx, project, deployment.sha),
    commit_title: pipeline.commit.title,
    ref: deployment.ref,
  };
  if (event.approvalId !== undefined) {
    const approval = lookup(state.approvals, event.approvalId, 'approval');
    const rule = [...state.protectedEnvs.values()]
      .flatMap((pe) => pe.approvalRules)
      .find((r) => r.id === approval.ruleId);
    payload.approver = userHookAttrs(lookup(state.users, approval.userId, 'user'));
    payload.approval = {
      id: approval.id,
      status: approval.status,
      comment: approval.comment,
      created_at: iso(approval.createdAt),
      approval_rule: rule ? approvalRuleEntity(ctx, rule) : null,
    };
  }
  return payload;
}

const DETAILED_STATUS: Record<PipelineRec['status'], string> = {
  created: 'created',
  pending: 'pending',
  running: 'running',
  manual: 'waiting for manual action',
  success: 'passed',
  failed: 'failed',
  canceled: 'canceled',
};

const durationSeconds = (from: number | null, to: number | null): number | null =>
  from === null || to === null ? null : Math.round((to - from) / 1000);

function environmentAttrs(ctx: Ctx, job: JobRec): Json {
  const environment = lookup(ctx.state.environments, job.environmentId, 'environment');
  return { name: environment.name, action: 'start', deployment_tier: environment.tier };
}

function buildAttrs(ctx: Ctx, job: JobRec): Json {
  return {
    id: job.id,
    stage: job.stage,
    name: job.name,
    status: job.status,
    created_at: utcTime(job.createdAt),
    started_at: utcTime(job.startedAt),
    finished_at: utcTime(job.finishedAt),
    duration: durationSeconds(job.startedAt, job.finishedAt),
    queued_duration: durationSeconds(job.queuedAt, job.startedAt),
    failure_reason: job.status === 'failed' ? job.failureReason : null,
    when: job.when,
    manual: job.when === 'manual',
    allow_failure: false,
    user: userHookAttrs(lookup(ctx.state.users, job.userId, 'user')),
    runner: null,
    artifacts_file: { filename: null, size: null },
    environment: environmentAttrs(ctx, job),
  };
}

function pipelinePayload(ctx: Ctx, pipelineId: number): Json {
  const { state } = ctx;
  const pipeline = lookup(state.pipelines, pipelineId, 'pipeline');
  const project = lookup(state.projects, pipeline.projectId, 'project');
  const jobs = [...state.jobs.values()].filter((j) => j.pipelineId === pipeline.id);
  const c = pipeline.commit;
  return {
    object_kind: 'pipeline',
    object_attributes: {
      id: pipeline.id,
      iid: pipeline.iid,
      name: null,
      ref: pipeline.ref,
      tag: false,
      sha: c.sha,
      before_sha: '0000000000000000000000000000000000000000',
      source: 'push',
      status: pipeline.status,
      detailed_status: DETAILED_STATUS[pipeline.status],
      stages: [...new Set(jobs.map((j) => j.stage))],
      created_at: utcTime(pipeline.createdAt),
      finished_at: utcTime(pipeline.finishedAt),
      duration: durationSeconds(pipeline.startedAt, pipeline.finishedAt),
      queued_duration: null,
      variables: [],
      url: `${projectWebUrl(ctx, project)}/-/pipelines/${pipeline.id}`,
    },
    merge_request: null,
    user: userHookAttrs(lookup(state.users, pipeline.userId, 'user')),
    project: projectHookAttrs(ctx, project),
    commit: {
      id: c.sha,
      message: c.message,
      title: c.title,
      timestamp: iso(c.createdAt),
      url: commitWebUrl(ctx, project, c.sha),
      author: { name: c.authorName, email: c.authorEmail },
    },
    builds: jobs.map((j) => buildAttrs(ctx, j)),
  };
}

function jobPayload(ctx: Ctx, jobId: number): Json {
  const { state } = ctx;
  const job = lookup(state.jobs, jobId, 'job');
  const project = lookup(state.projects, job.projectId, 'project');
  const pipeline = lookup(state.pipelines, job.pipelineId, 'pipeline');
  const user = lookup(state.users, job.userId, 'user');
  return {
    object_kind: 'build',
    ref: pipeline.ref,
    tag: false,
    before_sha: '0000000000000000000000000000000000000000',
    sha: pipeline.commit.sha,
    retries_count: 0,
    build_id: job.id,
    build_name: job.name,
    build_stage: job.stage,
    build_status: job.status,
    build_created_at: iso(job.createdAt),
    build_started_at: iso(job.startedAt),
    build_finished_at: iso(job.finishedAt),
    build_duration: durationSeconds(job.startedAt, job.finishedAt),
    build_queued_duration: durationSeconds(job.queuedAt, job.startedAt),
    build_allow_failure: false,
    build_failure_reason: job.status === 'failed' ? job.failureReason : null,
    pipeline_id: pipeline.id,
    runner: null,
    project_id: project.id,
    project_name: `${namespaceName(ctx, project)} / ${project.name}`,
    user: userHookAttrs(user),
    commit: {
      id: pipeline.id,
      name: null,
      sha: pipeline.commit.sha,
      message: pipeline.commit.message,
      author_name: pipeline.commit.authorName,
      author_email: pipeline.commit.authorEmail,
      author_url: userWebUrl(ctx, user),
      status: pipeline.status,
      duration: durationSeconds(pipeline.startedAt, pipeline.finishedAt),
      started_at: utcTime(pipeline.startedAt),
      finished_at: utcTime(pipeline.finishedAt),
    },
    repository: {
      name: project.name,
      url: projectHookAttrs(ctx, project).ssh_url,
      description: project.description,
      homepage: projectWebUrl(ctx, project),
      git_http_url: `${projectWebUrl(ctx, project)}.git`,
      git_ssh_url: projectHookAttrs(ctx, project).ssh_url,
      visibility_level: VISIBILITY_LEVEL[project.visibility],
    },
    project: projectHookAttrs(ctx, project),
    environment: environmentAttrs(ctx, job),
  };
}

export interface BuiltPayload {
  event: HookEventName;
  projectId: number;
  payload: Json;
}

export function buildPayload(ctx: Ctx, event: DomainEvent): BuiltPayload {
  const { state } = ctx;
  switch (event.kind) {
    case 'deployment':
      return {
        event: 'Deployment Hook',
        projectId: lookup(state.deployments, event.deploymentId, 'deployment').projectId,
        payload: deploymentPayload(ctx, event),
      };
    case 'pipeline':
      return {
        event: 'Pipeline Hook',
        projectId: lookup(state.pipelines, event.pipelineId, 'pipeline').projectId,
        payload: pipelinePayload(ctx, event.pipelineId),
      };
    case 'job':
      return {
        event: 'Job Hook',
        projectId: lookup(state.jobs, event.jobId, 'job').projectId,
        payload: jobPayload(ctx, event.jobId),
      };
  }
}
