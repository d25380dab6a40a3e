import { z } from 'zod';

/** GitLab REST entities, naming only the fields greenlight uses (snake_case as GitLab sends them). */

export const UserSchema = z.object({ id: z.number(), username: z.string(), name: z.string().nullish() });
export type UserEntity = z.infer<typeof UserSchema>;

export const AdminUserSchema = UserSchema.extend({
  email: z.string().nullish(),
  public_email: z.string().nullish(),
  state: z.string().nullish(),
});

const ApprovalSchema = z.object({
  user: UserSchema,
  status: z.enum(['approved', 'rejected']),
  comment: z.string().nullish(),
  created_at: z.string(),
});

const RuleSchema = z.object({
  id: z.number().nullish(),
  user_id: z.number().nullish(),
  group_id: z.number().nullish(),
  access_level: z.number().nullish(),
  access_level_description: z.string().nullish(),
  required_approvals: z.number(),
  group_inheritance_type: z.number().nullish(),
  deployment_approvals: z.array(ApprovalSchema).default([]),
});

export const DeploymentSchema = z.object({
  id: z.number(),
  iid: z.number(),
  ref: z.string(),
  sha: z.string(),
  status: z.enum(['created', 'running', 'success', 'failed', 'canceled', 'skipped', 'blocked']),
  created_at: z.string(),
  updated_at: z.string().nullish(),
  user: UserSchema.nullish(),
  environment: z.object({ id: z.number(), name: z.string(), external_url: z.string().nullish() }),
  deployable: z
    .object({
      id: z.number(),
      name: z.string().nullish(),
      status: z.string(),
      web_url: z.string().nullish(),
      failure_reason: z.string().nullish(),
      user: UserSchema.nullish(),
      commit: z
        .object({ title: z.string().nullish(), web_url: z.string().nullish(), author_email: z.string().nullish() })
        .nullish(),
      pipeline: z.object({ id: z.number(), web_url: z.string().nullish(), updated_at: z.string().nullish() }).nullish(),
    })
    .nullish(),
  pending_approval_count: z.number().default(0),
  approvals: z.array(ApprovalSchema).default([]),
  approval_summary: z.object({ rules: z.array(RuleSchema).default([]) }).nullish(),
});
export type DeploymentEntity = z.infer<typeof DeploymentSchema>;

export const DeploymentListItemSchema = z.object({
  id: z.number(),
  status: z.string(),
  sha: z.string().nullish(),
  environment: z.object({ name: z.string() }),
  deployable: z.object({ id: z.number() }).nullish(),
});

export const ProjectSchema = z.object({
  id: z.number(),
  name: z.string(),
  path_with_namespace: z.string(),
  web_url: z.string(),
});
export type ProjectEntity = z.infer<typeof ProjectSchema>;

/** A commit as the commits API lists it (and as a job's `commit`). */
export const CommitSchema = z.object({
  id: z.string(),
  title: z.string().nullish(),
  author_name: z.string().nullish(),
  created_at: z.string().nullish(),
  committed_date: z.string().nullish(),
  web_url: z.string().nullish(),
});

/** The deployment an environment carries as `last_deployment` (its last successful one, single GET only). */
export const LastDeploymentSchema = z.object({
  id: z.number(),
  ref: z.string(),
  sha: z.string(),
  created_at: z.string(),
  updated_at: z.string().nullish(),
  finished_at: z.string().nullish(),
  user: UserSchema.nullish(),
  deployable: z.object({ user: UserSchema.nullish(), commit: CommitSchema.nullish() }).nullish(),
});
export type LastDeploymentEntity = z.infer<typeof LastDeploymentSchema>;

export const EnvironmentSchema = z.object({
  id: z.number(),
  name: z.string(),
  tier: z.string().nullish(),
  external_url: z.string().nullish(),
  /** Absent from list answers; null before the environment's first successful deployment. */
  last_deployment: LastDeploymentSchema.nullish(),
});
export type EnvironmentEntity = z.infer<typeof EnvironmentSchema>;

export const MergeRequestSchema = z.object({
  iid: z.number(),
  title: z.string(),
  web_url: z.string(),
  author: UserSchema.nullish(),
  sha: z.string().nullish(),
  merge_commit_sha: z.string().nullish(),
  squash_commit_sha: z.string().nullish(),
});

export const JobSchema = z.object({
  id: z.number(),
  name: z.string(),
  status: z.string(),
  allow_failure: z.boolean().nullish(),
});

export const FreezePeriodSchema = z.object({
  freeze_start: z.string(),
  freeze_end: z.string(),
  cron_timezone: z.string().nullish(),
});
