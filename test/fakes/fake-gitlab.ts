// Fake GitLab: a real HTTP server on loopback that follows the shared reference notes, reference/gitlab-api.md.
// Implementation and notes: ./fake-gitlab/ (start.ts composes it).
export { startFakeGitLab } from './fake-gitlab/start.ts';
export type { FakeGitLab, StartFakeGitLabOptions, UpdateProjectInput } from './fake-gitlab/types.ts';
export type {
  FakeGroup,
  FakeHook,
  FakeOAuthApplication,
  FakeProject,
  FakeProtectedEnvironment,
  FakeToken,
  FakeUser,
} from './fake-gitlab/types.ts';
export type {
  AccessRuleInput,
  AddGroupInput,
  AddHookInput,
  AddOAuthApplicationInput,
  AddProjectInput,
  AddTokenInput,
  AddUserInput,
  ApprovalRuleInput,
  ProtectEnvironmentInput,
} from './fake-gitlab/builders.ts';
export type { AddProjectsInput } from './fake-gitlab/bulk.ts';
export type { CreateDeploymentInput } from './fake-gitlab/domain/lifecycle.ts';
export type { FailureSpec, RateLimitSpec } from './fake-gitlab/http/faults.ts';
export type { ActingUser, RecordedRequest } from './fake-gitlab/http/types.ts';
export type { ApprovalView, DeploymentView, JobView, PipelineView } from './fake-gitlab/views.ts';
export type { DeliveryState, ReleaseOrder, WebhookDelivery } from './fake-gitlab/webhooks/dispatcher.ts';
export type { HookEventName } from './fake-gitlab/webhooks/payloads.ts';
export type { WebhookMode } from './fake-gitlab/webhooks/hub.ts';
export type {
  ApprovalStatus,
  DeploymentStatus,
  JobStatus,
  Tier,
  TokenKind,
  UserState,
  Visibility,
} from './fake-gitlab/model.ts';
export { ACCESS } from './fake-gitlab/model.ts';
export { FakeGitLabError } from './fake-gitlab/context.ts';
export { APPROVAL_MESSAGES } from './fake-gitlab/domain/approvals.ts';
