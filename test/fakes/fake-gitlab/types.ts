// The public face of the fake: options and the FakeGitLab handle the project's tests use.
import type {
  AddGroupInput,
  AddHookInput,
  AddOAuthApplicationInput,
  AddProjectInput,
  AddTokenInput,
  AddUserInput,
  ProtectEnvironmentInput,
} from './builders.ts';
import type { AddProjectsInput } from './bulk.ts';
import type { CreateDeploymentInput } from './domain/lifecycle.ts';
import type { CommitInput, MergeMergeRequestInput } from './domain/repository.ts';
import type { FailureSpec, RateLimitSpec } from './http/faults.ts';
import type { RecordedRequest } from './http/types.ts';
import type {
  ApprovalStatus,
  FreezePeriodRec,
  GroupRec,
  HookRec,
  MergeRequestRec,
  OAuthAppRec,
  PipelineJobRec,
  ProjectRec,
  ProtectedEnvRec,
  RepoCommitRec,
  Tier,
  TokenRec,
  UserRec,
  Visibility,
} from './model.ts';
import type { DeploymentView, ApprovalView, JobView } from './views.ts';
import type { ReleaseOrder, WebhookDelivery } from './webhooks/dispatcher.ts';
import type { WebhookMode } from './webhooks/hub.ts';

export interface StartFakeGitLabOptions {
  /** Served by GET /api/v4/version and in webhooks' User-Agent. Default '18.2.0-ee'. */
  version?: string;
  /** legacy = GitLab < 19.3, modern = 19.3+ (default). */
  webhookMode?: WebhookMode;
  /** Webhook HTTP timeout; GitLab's is 10 s (the default). Lower it to test timeouts quickly. */
  webhookTimeoutMs?: number;
  /**
   * After a successful play, a "runner" picks the job up at once
   * (pending -> running). Default true; when false call runJob.
   */
  autoRunPlayedJobs?: boolean;
  /**
   * The instance licence that GET /license (administrators only) shows: 'premium' or 'ultimate' have
   * deployment approvals; 'free' is Enterprise Edition without a licence (404); null is Community Edition
   * (404, and /version says enterprise: false). Default 'ultimate'.
   */
  licensePlan?: 'premium' | 'ultimate' | 'free' | null;
}

export type FakeUser = Readonly<UserRec>;
export type FakeGroup = Readonly<GroupRec>;
export type FakeProject = Readonly<ProjectRec>;
export type FakeToken = Readonly<TokenRec>;
export type FakeHook = Readonly<HookRec>;
export type FakeOAuthApplication = Readonly<OAuthAppRec>;
export type FakeProtectedEnvironment = Readonly<ProtectedEnvRec>;
export type FakeCommit = Readonly<RepoCommitRec>;
export type FakeMergeRequest = Readonly<MergeRequestRec>;
export type FakeFreezePeriod = Readonly<FreezePeriodRec>;

export interface UpdateProjectInput {
  allowPipelineTriggerApproveDeployment?: boolean;
  defaultBranch?: string;
  visibility?: Visibility;
}

export interface FakeGitLab {
  /** http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  readonly version: string;
  /** Stops the server and drops undelivered webhooks. */
  close(): Promise<void>;

  // --- arranging the world (synchronous; throw on misuse) ---
  addUser(input: AddUserInput): FakeUser;
  addGroup(input: AddGroupInput): FakeGroup;
  addGroupMember(groupId: number, userId: number, accessLevel: number): void;
  addProject(input: AddProjectInput): FakeProject;
  /** Many projects in one group at once (paths `<prefix><i>`), without addProject's per-project checks. */
  addProjects(input: AddProjectsInput): FakeProject[];
  updateProject(projectId: number, patch: UpdateProjectInput): FakeProject;
  addProjectMember(projectId: number, userId: number, accessLevel: number): void;
  addToken(input: AddTokenInput): FakeToken;
  /** Marks a token revoked (API answers 401 "Token was revoked..."). */
  revokeToken(token: string): void;
  /** Project-level protected environment matching the environment `name`. */
  protectEnvironment(projectId: number, name: string, input: ProtectEnvironmentInput): FakeProtectedEnvironment;
  /** Group-level protected environment matching the environment `tier` in every project below the group. */
  protectGroupEnvironment(groupId: number, tier: Tier, input: ProtectEnvironmentInput): FakeProtectedEnvironment;
  /**
   * A pipeline with one deployment job. Blocked (job manual) when
   * approval rules apply or `manual`; else running. Fires webhooks.
   */
  createDeployment(input: CreateDeploymentInput): DeploymentView;
  /** Appends commits to a branch (default: the project's default branch); returns them oldest first. */
  pushCommits(projectId: number, input: { branch?: string; commits: CommitInput[] }): FakeCommit[];
  /** A merge request merged into its target branch at once (merge commit, squash commit, or fast-forward). */
  mergeMergeRequest(projectId: number, input: MergeMergeRequestInput): FakeMergeRequest;
  /** A deploy freeze: cron start and end in a time zone (default UTC), as Settings > CI/CD creates them. */
  addFreezePeriod(
    projectId: number,
    input: { freezeStart: string; freezeEnd: string; cronTimezone?: string },
  ): FakeFreezePeriod;

  // --- what people and runners do outside the API
  // (same checks as the API; throw FakeGitLabError with the API's status/body) ---
  approveInUi(
    deploymentId: number,
    userId: number,
    status: ApprovalStatus,
    comment?: string | null,
    representedAs?: string | null,
  ): ApprovalView;
  /** Play a manual job as `userId` (the job's user becomes them); then, unless autoRunPlayedJobs is false, it runs. */
  playJob(jobId: number, userId: number): JobView;
  /** A runner picks a pending job up. */
  runJob(jobId: number): JobView;
  finishJob(jobId: number, result: 'success' | 'failed'): JobView;
  /**
   * The pipeline's other job `name` (createDeployment's `pipelineJobs`) finishes, or is retried (a new pending job
   * in its place, no new deployment); the pipeline's status and updated_at follow.
   */
  updatePipelineJob(pipelineId: number, name: string, action: 'success' | 'failed' | 'retry'): Readonly<PipelineJobRec>;
  cancelDeployment(deploymentId: number): DeploymentView;

  // --- OAuth ---
  addOAuthApplication(input: AddOAuthApplicationInput): FakeOAuthApplication;
  /**
   * The browser step of /oauth/authorize for a signed-in user who clicks Authorize (or Deny with `deny`).
   * Resolves to the redirect Location (redirect_uri?code=..&state=.. or ?error=..); rejects with FakeGitLabError
   * when GitLab would show an error page instead (unknown client_id, redirect_uri not registered).
   */
  authorize(authorizeUrl: string, userId: number, opts?: { deny?: boolean }): Promise<string>;
  /** The user revokes the application in GitLab: its access and refresh tokens stop working. */
  revokeGrant(userId: number, clientId?: string): void;

  // --- time ---
  /** Moves all fake time forward (timestamps, token/code expiry, rate-limit windows, webhook backoff). */
  advanceClock(ms: number): void;
  /** The fake's current time (epoch ms). */
  now(): number;

  // --- failures and throttling ---
  failNext(spec: FailureSpec): void;
  /** Per-user (per-IP when unauthenticated) requests/minute on /api/v4; null turns it off. */
  setRateLimit(spec: RateLimitSpec | null): void;

  // --- webhooks ---
  addHook(input: AddHookInput): FakeHook;
  getHook(hookId: number): FakeHook | undefined;
  /** Clear a hook's failure count and any temporary/permanent disable. */
  enableHook(hookId: number): void;
  readonly deliveries: readonly WebhookDelivery[];
  /** Resolves once every queued delivery has finished (held deliveries do not count). */
  webhooksIdle(): Promise<void>;
  /** "Resend Request": same payload and Idempotency-Key, new X-Gitlab-Webhook-UUID; sent even to a disabled hook. */
  redeliver(deliveryIndex: number): WebhookDelivery;
  /** Queue new deliveries without sending them, until releaseWebhooks. */
  holdWebhooks(): void;
  releaseWebhooks(opts?: { order?: ReleaseOrder; seed?: number }): void;
  setWebhookMode(mode: WebhookMode): void;
  readonly webhookMode: WebhookMode;

  // --- inspection ---
  readonly requests: readonly RecordedRequest[];
  approvalCalls(): RecordedRequest[];
  /** Requests that matched no route (answered 404). */
  unexpectedRequests(): RecordedRequest[];
  getDeployment(deploymentId: number): DeploymentView | undefined;
  getJob(jobId: number): JobView | undefined;
}
