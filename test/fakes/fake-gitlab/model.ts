// The fake's in-memory world. Records are internal and mutable; the public API hands out copies
// (see views.ts) and JSON entities (see entities.ts).

export const ACCESS = {
  noAccess: 0,
  guest: 10,
  reporter: 20,
  developer: 30,
  maintainer: 40,
  owner: 50,
  admin: 60,
} as const;

export type UserState = 'active' | 'blocked' | 'deactivated';
export type Visibility = 'private' | 'internal' | 'public';
export type Tier = 'production' | 'staging' | 'testing' | 'development' | 'other';
export const TIERS: readonly Tier[] = ['production', 'staging', 'testing', 'development', 'other'];

export interface UserRec {
  id: number;
  username: string;
  name: string;
  email: string;
  publicEmail: string | null;
  admin: boolean;
  state: UserState;
  createdAt: number;
}

export interface GroupRec {
  id: number;
  path: string;
  name: string;
  parentId: number | null;
  visibility: Visibility;
  createdAt: number;
}

export interface ProjectRec {
  id: number;
  name: string;
  path: string;
  pathWithNamespace: string;
  /** Group namespace, or null for a personal namespace (then ownerUserId is set). */
  groupId: number | null;
  ownerUserId: number | null;
  defaultBranch: string;
  visibility: Visibility;
  description: string;
  allowPipelineTriggerApproveDeployment: boolean;
  createdAt: number;
}

export interface MemberRec {
  accessLevel: number;
  createdAt: number;
}

export type TokenKind = 'personal' | 'oauth';

export interface TokenRec {
  id: number;
  token: string;
  userId: number;
  scopes: string[];
  kind: TokenKind;
  name: string;
  createdAt: number;
  /** Epoch ms at which the token stops working; null = never. */
  expiresAt: number | null;
  revoked: boolean;
  /** OAuth only: the application and the refresh token issued with this access token. */
  applicationId: number | null;
  refreshToken: string | null;
}

export interface RefreshTokenRec {
  token: string;
  accessToken: string;
  applicationId: number;
  userId: number;
  scopes: string[];
  revoked: boolean;
}

/** One entry of deploy_access_levels or approval_rules: exactly one of userId, groupId, accessLevel. */
export interface AccessRuleRec {
  id: number;
  userId: number | null;
  groupId: number | null;
  accessLevel: number | null;
  groupInheritanceType: 0 | 1;
}

export interface ApprovalRuleRec extends AccessRuleRec {
  requiredApprovals: number;
  protectedEnvironmentId: number;
}

export type Container = { kind: 'project'; projectId: number } | { kind: 'group'; groupId: number };

export interface ProtectedEnvRec {
  id: number;
  container: Container;
  /** Environment name (project level) or deployment tier (group level). */
  name: string;
  deployAccessLevels: AccessRuleRec[];
  approvalRules: ApprovalRuleRec[];
}

export interface EnvironmentRec {
  id: number;
  projectId: number;
  name: string;
  slug: string;
  externalUrl: string | null;
  tier: Tier;
  createdAt: number;
  updatedAt: number;
}

export type PipelineStatus = 'created' | 'pending' | 'running' | 'manual' | 'success' | 'failed' | 'canceled';
export type JobStatus = PipelineStatus;
export type DeploymentStatus = 'created' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'blocked';
export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  'created',
  'running',
  'success',
  'failed',
  'canceled',
  'skipped',
  'blocked',
];

export interface CommitRec {
  sha: string;
  title: string;
  message: string;
  authorName: string;
  authorEmail: string;
  createdAt: number;
}

/** A commit in a project's repository: the commit graph that ranges (`a..b`) walk. */
export interface RepoCommitRec extends CommitRec {
  projectId: number;
  parentIds: string[];
  /** Order of creation: the commits API lists newest first. */
  seq: number;
}

export type MergeMethod = 'merge' | 'squash' | 'ff';

export interface MergeRequestRec {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string;
  authorId: number;
  mergedById: number;
  sourceBranch: string;
  targetBranch: string;
  /** Head of the source branch when merged. */
  sha: string;
  mergeCommitSha: string | null;
  squashCommitSha: string | null;
  createdAt: number;
  updatedAt: number;
  mergedAt: number;
}

export interface FreezePeriodRec {
  id: number;
  projectId: number;
  freezeStart: string;
  freezeEnd: string;
  cronTimezone: string;
  createdAt: number;
  updatedAt: number;
}

/** A job of a deployment's pipeline other than the deployment job (tests, builds): listed, never run. */
export interface PipelineJobRec {
  id: number;
  projectId: number;
  pipelineId: number;
  name: string;
  stage: string;
  status: PipelineJobStatus;
  allowFailure: boolean;
  userId: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export type PipelineJobStatus = JobStatus | 'skipped';

export interface PipelineRec {
  id: number;
  iid: number;
  projectId: number;
  ref: string;
  commit: CommitRec;
  status: PipelineStatus;
  userId: number;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The pipeline's other jobs (tests, builds), beside its deployment job. */
  otherJobIds: number[];
}

export interface JobRec {
  id: number;
  projectId: number;
  pipelineId: number;
  name: string;
  stage: string;
  status: JobStatus;
  when: 'on_success' | 'manual';
  /** The triggerer, replaced by whoever plays the manual job. */
  userId: number;
  failureReason: string | null;
  environmentId: number;
  deploymentId: number;
  createdAt: number;
  queuedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface DeploymentRec {
  id: number;
  iid: number;
  projectId: number;
  environmentId: number;
  pipelineId: number;
  jobId: number;
  ref: string;
  sha: string;
  status: DeploymentStatus;
  /** Creator (pipeline triggerer); never changes. */
  userId: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export type ApprovalStatus = 'approved' | 'rejected';

export interface ApprovalRec {
  id: number;
  deploymentId: number;
  userId: number;
  ruleId: number;
  status: ApprovalStatus;
  comment: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface HookRec {
  id: number;
  container: Container;
  url: string;
  token: string | null;
  name: string | null;
  description: string | null;
  pushEvents: boolean;
  deploymentEvents: boolean;
  pipelineEvents: boolean;
  jobEvents: boolean;
  enableSslVerification: boolean;
  createdAt: number;
  recentFailures: number;
  backoffCount: number;
  disabledUntil: number | null;
  permanentlyDisabled: boolean;
}

export interface OAuthAppRec {
  id: number;
  name: string;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  scopes: string[];
  confidential: boolean;
}

export interface OAuthCodeRec {
  code: string;
  applicationId: number;
  userId: number;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  expiresAt: number;
  used: boolean;
}

type Sequence =
  | 'user'
  | 'group'
  | 'project'
  | 'token'
  | 'protectedEnv'
  | 'accessRule'
  | 'environment'
  | 'pipeline'
  | 'job'
  | 'deployment'
  | 'approval'
  | 'hook'
  | 'oauthApp'
  | 'commit'
  | 'mergeRequest'
  | 'freezePeriod';

export interface State {
  users: Map<number, UserRec>;
  groups: Map<number, GroupRec>;
  projects: Map<number, ProjectRec>;
  groupMembers: Map<number, Map<number, MemberRec>>;
  projectMembers: Map<number, Map<number, MemberRec>>;
  tokens: Map<string, TokenRec>;
  refreshTokens: Map<string, RefreshTokenRec>;
  protectedEnvs: Map<number, ProtectedEnvRec>;
  environments: Map<number, EnvironmentRec>;
  pipelines: Map<number, PipelineRec>;
  jobs: Map<number, JobRec>;
  deployments: Map<number, DeploymentRec>;
  approvals: Map<number, ApprovalRec>;
  hooks: Map<number, HookRec>;
  oauthApps: Map<number, OAuthAppRec>;
  oauthCodes: Map<string, OAuthCodeRec>;
  /** Keyed `${projectId}:${sha}`. */
  commits: Map<string, RepoCommitRec>;
  /** Branch heads, keyed `${projectId}:${branch}`. */
  branches: Map<string, string>;
  mergeRequests: Map<number, MergeRequestRec>;
  freezePeriods: Map<number, FreezePeriodRec>;
  pipelineJobs: Map<number, PipelineJobRec>;
  sequences: Map<Sequence, number>;
  /** Per-project iid counters, keyed `${projectId}:${kind}`. */
  iids: Map<string, number>;
}

export function createState(): State {
  return {
    users: new Map(),
    groups: new Map(),
    projects: new Map(),
    groupMembers: new Map(),
    projectMembers: new Map(),
    tokens: new Map(),
    refreshTokens: new Map(),
    protectedEnvs: new Map(),
    environments: new Map(),
    pipelines: new Map(),
    jobs: new Map(),
    deployments: new Map(),
    approvals: new Map(),
    hooks: new Map(),
    oauthApps: new Map(),
    oauthCodes: new Map(),
    commits: new Map(),
    branches: new Map(),
    mergeRequests: new Map(),
    freezePeriods: new Map(),
    pipelineJobs: new Map(),
    sequences: new Map(),
    iids: new Map(),
  };
}

export function nextId(state: State, sequence: Sequence): number {
  const next = (state.sequences.get(sequence) ?? 0) + 1;
  state.sequences.set(sequence, next);
  return next;
}

/** Reserve an explicit id so later auto ids never collide with it. */
export function reserveId(state: State, sequence: Sequence, id: number): void {
  state.sequences.set(sequence, Math.max(state.sequences.get(sequence) ?? 0, id));
}

export function nextIid(state: State, projectId: number, kind: 'deployment' | 'pipeline' | 'merge_request'): number {
  const key = `${projectId}:${kind}`;
  const next = (state.iids.get(key) ?? 0) + 1;
  state.iids.set(key, next);
  return next;
}
