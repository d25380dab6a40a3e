// REST JSON entities (lib/api/entities/*), snake_case as GitLab sends them.
import { createHash } from 'node:crypto';
import { groupFullPath, humanizeRule } from './access.ts';
import { iso, isoDate } from './clock.ts';
import type { Ctx } from './context.ts';
import { approvalsOf, environmentOf, pendingApprovalCount, ruleSummaries } from './domain/summary.ts';
import type {
  AccessRuleRec,
  ApprovalRec,
  ApprovalRuleRec,
  DeploymentRec,
  EnvironmentRec,
  GroupRec,
  HookRec,
  FreezePeriodRec,
  JobRec,
  MemberRec,
  MergeRequestRec,
  PipelineJobRec,
  PipelineRec,
  ProjectRec,
  ProtectedEnvRec,
  RepoCommitRec,
  TokenRec,
  UserRec,
} from './model.ts';

type Json = Record<string, unknown>;

export function avatarUrl(user: UserRec): string {
  const hash = createHash('md5').update(user.email.trim().toLowerCase()).digest('hex');
  return `https://www.gravatar.com/avatar/${hash}?s=80&d=identicon`;
}

export const userWebUrl = (ctx: Ctx, user: UserRec): string => `${ctx.baseUrl()}/${user.username}`;
export const projectWebUrl = (ctx: Ctx, project: ProjectRec): string => `${ctx.baseUrl()}/${project.pathWithNamespace}`;
export const jobWebUrl = (ctx: Ctx, project: ProjectRec, job: JobRec): string =>
  `${projectWebUrl(ctx, project)}/-/jobs/${job.id}`;
export const pipelineWebUrl = (ctx: Ctx, project: ProjectRec, pipeline: PipelineRec): string =>
  `${projectWebUrl(ctx, project)}/-/pipelines/${pipeline.id}`;
export const commitWebUrl = (ctx: Ctx, project: ProjectRec, sha: string): string =>
  `${projectWebUrl(ctx, project)}/-/commit/${sha}`;

export function lookup<T>(map: Map<number, T>, id: number, what: string): T {
  const found = map.get(id);
  if (found === undefined) throw new Error(`fake GitLab: no ${what} ${id}`);
  return found;
}

/** UserBasic. */
export function userBasic(ctx: Ctx, user: UserRec): Json {
  return {
    id: user.id,
    username: user.username,
    public_email: user.publicEmail,
    name: user.name,
    state: user.state,
    locked: false,
    avatar_url: avatarUrl(user),
    web_url: userWebUrl(ctx, user),
  };
}

/** API::Entities::User, plus email / is_admin when the viewer is an admin or the user themself. */
export function userDetails(ctx: Ctx, user: UserRec, viewer: UserRec): Json {
  const details: Json = { ...userBasic(ctx, user), created_at: iso(user.createdAt), bio: '', location: '', bot: false };
  if (viewer.admin || viewer.id === user.id) details.email = user.email;
  if (viewer.admin) {
    details.is_admin = user.admin;
    // GitLab shows administrators whether a user is external; the fake has no external users
    details.external = false;
  }
  return details;
}

export function namespaceEntity(ctx: Ctx, project: ProjectRec): Json {
  const state = ctx.state;
  if (project.groupId !== null) {
    const group = lookup(state.groups, project.groupId, 'group');
    const fullPath = groupFullPath(state, group.id);
    return {
      id: group.id,
      name: group.name,
      path: group.path,
      kind: 'group',
      full_path: fullPath,
      parent_id: group.parentId,
      avatar_url: null,
      web_url: `${ctx.baseUrl()}/groups/${fullPath}`,
    };
  }
  const owner = lookup(state.users, project.ownerUserId ?? -1, 'user');
  return {
    id: 100_000 + owner.id,
    name: owner.name,
    path: owner.username,
    kind: 'user',
    full_path: owner.username,
    parent_id: null,
    avatar_url: avatarUrl(owner),
    web_url: userWebUrl(ctx, owner),
  };
}

export function projectEntity(ctx: Ctx, project: ProjectRec): Json {
  const namespace = namespaceEntity(ctx, project);
  const web = projectWebUrl(ctx, project);
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${String(namespace.name)} / ${project.name}`,
    path: project.path,
    path_with_namespace: project.pathWithNamespace,
    created_at: iso(project.createdAt),
    default_branch: project.defaultBranch,
    ssh_url_to_repo: `ssh://git@${new URL(ctx.baseUrl()).host}/${project.pathWithNamespace}.git`,
    http_url_to_repo: `${web}.git`,
    web_url: web,
    visibility: project.visibility,
    archived: false,
    namespace,
    allow_pipeline_trigger_approve_deployment: project.allowPipelineTriggerApproveDeployment,
  };
}

export function groupEntity(ctx: Ctx, group: GroupRec): Json {
  const fullPath = groupFullPath(ctx.state, group.id);
  return {
    id: group.id,
    name: group.name,
    path: group.path,
    full_path: fullPath,
    parent_id: group.parentId,
    visibility: group.visibility,
    web_url: `${ctx.baseUrl()}/groups/${fullPath}`,
  };
}

export function environmentBasic(env: EnvironmentRec): Json {
  return {
    id: env.id,
    name: env.name,
    slug: env.slug,
    external_url: env.externalUrl,
    created_at: iso(env.createdAt),
    updated_at: iso(env.updatedAt),
  };
}

export function environmentEntity(env: EnvironmentRec): Json {
  return {
    ...environmentBasic(env),
    tier: env.tier,
    state: 'available',
    description: null,
    auto_stop_at: null,
    auto_stop_setting: 'always',
  };
}

function commitEntity(ctx: Ctx, project: ProjectRec, pipeline: PipelineRec): Json {
  const c = pipeline.commit;
  const inRepository = ctx.state.commits.get(`${project.id}:${c.sha}`);
  return {
    id: c.sha,
    short_id: c.sha.slice(0, 8),
    created_at: iso(c.createdAt),
    parent_ids: inRepository ? [...inRepository.parentIds] : [],
    title: c.title,
    message: c.message,
    author_name: c.authorName,
    author_email: c.authorEmail,
    authored_date: iso(c.createdAt),
    committer_name: c.authorName,
    committer_email: c.authorEmail,
    committed_date: iso(c.createdAt),
    trailers: {},
    extended_trailers: {},
    web_url: commitWebUrl(ctx, project, c.sha),
  };
}

/** API::Entities::Commit, as the commits API lists them (docs example: short_id of 11 characters). */
export function repositoryCommitEntity(ctx: Ctx, project: ProjectRec, c: RepoCommitRec): Json {
  return {
    id: c.sha,
    short_id: c.sha.slice(0, 11),
    created_at: iso(c.createdAt),
    parent_ids: [...c.parentIds],
    title: c.title,
    message: c.message,
    author_name: c.authorName,
    author_email: c.authorEmail,
    authored_date: iso(c.createdAt),
    committer_name: c.authorName,
    committer_email: c.authorEmail,
    committed_date: iso(c.createdAt),
    trailers: {},
    extended_trailers: {},
    web_url: commitWebUrl(ctx, project, c.sha),
  };
}

/** API::Entities::MergeRequestBasic, as the merge requests list shows them. */
export function mergeRequestEntity(ctx: Ctx, mr: MergeRequestRec): Json {
  const { state } = ctx;
  const project = lookup(state.projects, mr.projectId, 'project');
  const author = userBasic(ctx, lookup(state.users, mr.authorId, 'user'));
  const mergedBy = userBasic(ctx, lookup(state.users, mr.mergedById, 'user'));
  const reference = `!${mr.iid}`;
  return {
    id: mr.id,
    iid: mr.iid,
    project_id: project.id,
    title: mr.title,
    description: mr.description,
    state: 'merged',
    created_at: iso(mr.createdAt),
    updated_at: iso(mr.updatedAt),
    merged_by: mergedBy,
    merge_user: mergedBy,
    merged_at: iso(mr.mergedAt),
    closed_by: null,
    closed_at: null,
    target_branch: mr.targetBranch,
    source_branch: mr.sourceBranch,
    user_notes_count: 0,
    upvotes: 0,
    downvotes: 0,
    author,
    assignees: [],
    assignee: null,
    reviewers: [],
    source_project_id: project.id,
    target_project_id: project.id,
    labels: [],
    draft: false,
    work_in_progress: false,
    milestone: null,
    merge_when_pipeline_succeeds: false,
    merge_status: 'can_be_merged',
    detailed_merge_status: 'not_open',
    sha: mr.sha,
    merge_commit_sha: mr.mergeCommitSha,
    squash_commit_sha: mr.squashCommitSha,
    discussion_locked: null,
    should_remove_source_branch: null,
    force_remove_source_branch: true,
    prepared_at: iso(mr.createdAt),
    reference,
    references: { short: reference, relative: reference, full: `${project.pathWithNamespace}${reference}` },
    web_url: `${projectWebUrl(ctx, project)}/-/merge_requests/${mr.iid}`,
    time_stats: { time_estimate: 0, total_time_spent: 0, human_time_estimate: null, human_total_time_spent: null },
    squash: mr.squashCommitSha !== null,
    squash_on_merge: mr.squashCommitSha !== null,
    task_completion_status: { count: 0, completed_count: 0 },
    has_conflicts: false,
    blocking_discussions_resolved: true,
  };
}

/** API::Entities::FreezePeriod. */
export function freezePeriodEntity(period: FreezePeriodRec): Json {
  return {
    id: period.id,
    freeze_start: period.freezeStart,
    freeze_end: period.freezeEnd,
    cron_timezone: period.cronTimezone,
    created_at: iso(period.createdAt),
    updated_at: iso(period.updatedAt),
  };
}

export function pipelineBasic(ctx: Ctx, project: ProjectRec, pipeline: PipelineRec): Json {
  return {
    id: pipeline.id,
    iid: pipeline.iid,
    project_id: project.id,
    sha: pipeline.commit.sha,
    ref: pipeline.ref,
    status: pipeline.status,
    source: 'push',
    created_at: iso(pipeline.createdAt),
    updated_at: iso(pipeline.updatedAt),
    web_url: pipelineWebUrl(ctx, project, pipeline),
  };
}

const seconds = (from: number | null, to: number | null): number | null =>
  from === null || to === null ? null : (to - from) / 1000;

/** API::Entities::Ci::Job (the deployable, and the play response). */
export function jobEntity(ctx: Ctx, job: JobRec): Json {
  const state = ctx.state;
  const project = lookup(state.projects, job.projectId, 'project');
  const pipeline = lookup(state.pipelines, job.pipelineId, 'pipeline');
  const user = lookup(state.users, job.userId, 'user');
  const entity: Json = {
    id: job.id,
    status: job.status,
    stage: job.stage,
    name: job.name,
    ref: pipeline.ref,
    tag: false,
    coverage: null,
    allow_failure: false,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    erased_at: null,
    duration: seconds(job.startedAt, job.finishedAt),
    queued_duration: seconds(job.queuedAt, job.startedAt),
    user: { ...userBasic(ctx, user), created_at: iso(user.createdAt) },
    commit: commitEntity(ctx, project, pipeline),
    pipeline: pipelineBasic(ctx, project, pipeline),
    web_url: jobWebUrl(ctx, project, job),
    project: { ci_job_token_scope_enabled: false },
    artifacts: [],
    runner: null,
    artifacts_expire_at: null,
    archived: false,
    tag_list: [],
  };
  if (job.status === 'failed') entity.failure_reason = job.failureReason;
  return entity;
}

/** A pipeline's other job, shaped like API::Entities::Ci::Job (the pipeline jobs list). */
export function pipelineJobEntity(ctx: Ctx, job: PipelineJobRec): Json {
  const state = ctx.state;
  const project = lookup(state.projects, job.projectId, 'project');
  const pipeline = lookup(state.pipelines, job.pipelineId, 'pipeline');
  const user = lookup(state.users, job.userId, 'user');
  const entity: Json = {
    id: job.id,
    status: job.status,
    stage: job.stage,
    name: job.name,
    ref: pipeline.ref,
    tag: false,
    coverage: null,
    allow_failure: job.allowFailure,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    erased_at: null,
    duration: seconds(job.startedAt, job.finishedAt),
    queued_duration: null,
    user: { ...userBasic(ctx, user), created_at: iso(user.createdAt) },
    commit: commitEntity(ctx, project, pipeline),
    pipeline: pipelineBasic(ctx, project, pipeline),
    web_url: `${projectWebUrl(ctx, project)}/-/jobs/${job.id}`,
    project: { ci_job_token_scope_enabled: false },
    artifacts: [],
    runner: null,
    artifacts_expire_at: null,
    archived: false,
    tag_list: [],
  };
  if (job.status === 'failed') entity.failure_reason = 'script_failure';
  return entity;
}

/** API::Entities::Deployments::Approval. */
export function approvalEntity(ctx: Ctx, approval: ApprovalRec): Json {
  return {
    user: userBasic(ctx, lookup(ctx.state.users, approval.userId, 'user')),
    status: approval.status,
    created_at: iso(approval.createdAt),
    comment: approval.comment,
  };
}

export function approvalRuleEntity(ctx: Ctx, rule: ApprovalRuleRec): Json {
  return {
    id: rule.id,
    user_id: rule.userId,
    group_id: rule.groupId,
    access_level: rule.accessLevel,
    access_level_description: humanizeRule(ctx.state, rule),
    required_approvals: rule.requiredApprovals,
    group_inheritance_type: rule.groupInheritanceType,
  };
}

export function deployAccessEntity(ctx: Ctx, rule: AccessRuleRec): Json {
  return {
    id: rule.id,
    access_level: rule.accessLevel,
    access_level_description: humanizeRule(ctx.state, rule),
    user_id: rule.userId,
    group_id: rule.groupId,
    group_inheritance_type: rule.groupInheritanceType,
  };
}

export function protectedEnvEntity(ctx: Ctx, pe: ProtectedEnvRec): Json {
  return {
    name: pe.name,
    deploy_access_levels: pe.deployAccessLevels.map((r) => deployAccessEntity(ctx, r)),
    required_approval_count: 0,
    approval_rules: pe.approvalRules.map((r) => approvalRuleEntity(ctx, r)),
  };
}

/** Deployment; `withApprovals` only for the single GET and the POST/PUT responses (§0.8). */
export function deploymentEntity(ctx: Ctx, deployment: DeploymentRec, withApprovals: boolean): Json {
  const state = ctx.state;
  const entity: Json = {
    id: deployment.id,
    iid: deployment.iid,
    ref: deployment.ref,
    sha: deployment.sha,
    created_at: iso(deployment.createdAt),
    updated_at: iso(deployment.updatedAt),
    finished_at: iso(deployment.finishedAt),
    status: deployment.status,
    user: userBasic(ctx, lookup(state.users, deployment.userId, 'user')),
    environment: environmentBasic(environmentOf(state, deployment)),
    deployable: jobEntity(ctx, lookup(state.jobs, deployment.jobId, 'job')),
  };
  if (!withApprovals) return entity;
  return {
    ...entity,
    pending_approval_count: pendingApprovalCount(state, deployment),
    approvals: approvalsOf(state, deployment.id).map((a) => approvalEntity(ctx, a)),
    approval_summary: {
      rules: ruleSummaries(state, deployment).map((r) => ({
        ...approvalRuleEntity(ctx, r.rule),
        deployment_approvals: r.approvals.map((a) => approvalEntity(ctx, a)),
      })),
    },
  };
}

export function memberEntity(ctx: Ctx, user: UserRec, member: MemberRec): Json {
  return {
    ...userBasic(ctx, user),
    access_level: member.accessLevel,
    created_at: iso(member.createdAt),
    expires_at: null,
    membership_state: 'active',
  };
}

export function hookAlertStatus(hook: HookRec, now: number): 'executable' | 'temporarily_disabled' | 'disabled' {
  if (hook.permanentlyDisabled) return 'disabled';
  if (hook.disabledUntil !== null && hook.disabledUntil > now) return 'temporarily_disabled';
  return 'executable';
}

/** ProjectHook / GroupHook; the token is write-only. */
export function hookEntity(ctx: Ctx, hook: HookRec): Json {
  const now = ctx.clock.now();
  const status = hookAlertStatus(hook, now);
  return {
    id: hook.id,
    url: hook.url,
    name: hook.name,
    description: hook.description,
    created_at: iso(hook.createdAt),
    ...(hook.container.kind === 'project'
      ? { project_id: hook.container.projectId }
      : { group_id: hook.container.groupId }),
    push_events: hook.pushEvents,
    tag_push_events: false,
    merge_requests_events: false,
    issues_events: false,
    confidential_issues_events: false,
    note_events: false,
    confidential_note_events: false,
    wiki_page_events: false,
    releases_events: false,
    deployment_events: hook.deploymentEvents,
    pipeline_events: hook.pipelineEvents,
    job_events: hook.jobEvents,
    enable_ssl_verification: hook.enableSslVerification,
    push_events_branch_filter: null,
    branch_filter_strategy: 'wildcard',
    repository_update_events: false,
    alert_status: status,
    disabled_until: status === 'temporarily_disabled' ? iso(hook.disabledUntil) : null,
    url_variables: [],
    custom_headers: [],
  };
}

export function personalTokenEntity(token: TokenRec, now: number): Json {
  const expired = token.expiresAt !== null && token.expiresAt <= now;
  return {
    id: token.id,
    name: token.name,
    revoked: token.revoked,
    created_at: iso(token.createdAt),
    description: null,
    scopes: token.scopes,
    user_id: token.userId,
    last_used_at: null,
    active: !token.revoked && !expired,
    expires_at: isoDate(token.expiresAt),
  };
}
