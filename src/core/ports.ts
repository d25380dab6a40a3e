/**
 * What the core needs from the outside world. Adapters implement these; tests use in-memory fakes.
 * Nothing here names an SDK.
 */
import type { CardState, Deployment, GitLabUser } from './deployments/deployment.ts';
import type { CardModel } from './cards/card-model.ts';
import type { Notice } from './approvals/notices.ts';
import type { ChangesView } from './cards/changes-summary.ts';
import type { DeploymentRef } from './deployments/deployment.ts';

// The ports with no domain types of their own live in ./runtime.ts, so that any core module can use them
// without an import circle through this file.
export type { Clock, JobPlacement, Logger, WorkQueue } from './runtime.ts';
export type { DeploymentRef } from './deployments/deployment.ts';

/** GitLab as greenlight's own (bot) token sees it. */
export interface GitLabReader {
  /**
   * null when GitLab answers 404 (deleted, or no longer visible). `known`: the deployment's environment as a card
   * already shows it; its tier is then taken from there instead of being read again. A deployment never moves to
   * another environment and a tier is seldom changed, so a card keeps the tier it was posted with (its route was
   * chosen by it); a waiting card re-synced every sweep would otherwise read its environment every few sweeps.
   */
  getDeployment(ref: DeploymentRef, known?: { environment: KnownEnvironment }): Promise<Deployment | null>;
  /** Blocked deployments of a project (the list API has no approval fields: read each one). */
  listBlockedDeployments(
    projectId: number | string,
    opts?: { environment?: string },
  ): Promise<Array<{ id: number; projectId: number; environment: string }>>;
  /**
   * The deployment a Deployment Hook without `deployment_id` (GitLab versions before it) is about: the newest one of
   * the environment whose job is `deployableId`, or without a job (API-created) whose commit starts with `shortSha`.
   */
  findDeployment(
    projectId: number,
    hint: { environment: string; deployableId: number | null; shortSha: string | null },
  ): Promise<number | null>;
  findUserByUsername(username: string): Promise<GitLabUser | null>;
  /** Exact, case-insensitive e-mail match (needs an administrator token for private e-mails). */
  findUserByEmail(email: string): Promise<GitLabUser | null>;
}

/** What getDeployment may take from a card instead of reading it. */
export type KnownEnvironment = { id: number; tier: string | null };

export type DecisionStatus = 'approved' | 'rejected';

/** GitLab acting as one person: their OAuth token, or the Sudo header for them. */
export interface GitLabActor {
  readonly user: GitLabUser;
  recordDecision(
    ref: DeploymentRef,
    input: { status: DecisionStatus; comment?: string; representedAs?: string },
  ): Promise<void>;
  playJob(projectId: number, jobId: number): Promise<void>;
}

export type SlackUser = { teamId: string; userId: string };

/** Why sudo mode does not match a Slack account by e-mail (the policy's `users:` list still can). */
export type UnlinkedReason = 'guest' | 'external' | 'unconfirmed_email';

export type Identity = {
  gitlab: GitLabUser;
  via: 'policy' | 'email' | 'oauth';
  /** The person's known e-mail addresses (for the four-eyes commit-author rule); may be empty. */
  emails?: readonly string[];
};

export type IdentityResolution =
  | { kind: 'linked'; identity: Identity }
  /**
   * No GitLab account is known for this Slack user: tell them how to get linked. `reason`: sudo mode found an
   * e-mail but matches only full members of the installed workspace with a confirmed e-mail.
   */
  | { kind: 'unlinked'; reason?: UnlinkedReason }
  /** A link exists but no longer works (revoked, refresh failed): tell them to link again. */
  | { kind: 'broken'; reason: string };

export interface IdentityPort {
  resolve(user: SlackUser): Promise<IdentityResolution>;
  actorFor(identity: Identity): Promise<GitLabActor>;
  /** The Slack user for a GitLab user, for mentions; null when unknown. */
  slackUserFor(gitlab: GitLabUser): Promise<string | null>;
  /** How a person links their account in this mode (command text or admin instruction). */
  readonly linkHint: 'oauth' | 'sudo';
}

export type MessageRef = { channel: string; ts: string };

export interface ChatPort {
  postCard(channel: string, card: CardModel): Promise<MessageRef>;
  updateCard(ref: MessageRef, card: CardModel): Promise<void>;
  /** `teamId` (when known) lets a notice with `link` carry a Link button bound to that Slack user. */
  postNotice(channel: string, slackUserId: string, notice: Notice, teamId?: string): Promise<void>;
}

/** One card per deployment; every change is compare-and-set on `version`. */
export type CardRecord = {
  deploymentId: number;
  projectId: number;
  channel: string;
  /** null while the post is in flight (claimed, not yet confirmed) */
  ts: string | null;
  version: number;
  state: CardState;
  fingerprint: string;
  claimedAt: number;
  updatedAt: number;
  /** The deployment as last read from GitLab; lets clicks refuse the creator without another call. */
  snapshot: Deployment;
  /**
   * While waiting: the open rules and the Slack users who could still approve for each, as last rendered.
   * Lets a click decide within Slack's 3 s whether to ask which rule the person approves for.
   */
  openRules?: Array<{ name: string; slackUserIds: string[] }>;
  /** What the deployment changes, as the card last showed it (lists, the Home tab and DMs show it in one line). */
  changes?: ChangesView | null;
};

export interface CardStore {
  get(deploymentId: number): Promise<CardRecord | null>;
  /**
   * Atomically creates the record if none exists; false when another worker already has it. May throw when the
   * store lost its data and has not noticed yet (then the card may be in Slack already: the caller tries again).
   */
  create(record: CardRecord): Promise<boolean>;
  /** Replaces the record if its version is still `expectedVersion`. */
  replace(expectedVersion: number, record: CardRecord): Promise<boolean>;
  delete(deploymentId: number): Promise<void>;
}

/** The newest deployment greenlight has seen of one environment, and how to link to it. */
export type LatestDeployment = { id: number; url: string };

/** Newest deployment per environment: a newer deployment supersedes older ones still waiting. */
export interface LatestDeployments {
  /**
   * Records `candidate` unless a newer deployment of the environment is known (atomically). Returns the
   * newest one after the call, whether `candidate` just replaced another, and which one the newest replaced.
   */
  note(
    environment: { projectId: number; environmentId: number },
    candidate: LatestDeployment,
  ): Promise<{ newest: LatestDeployment; replaced: boolean; previous: number | null }>;
}
