import {
  allApprovals,
  classify,
  rejectionOf,
  ruleProgress,
  type Deployment,
  type GitLabUser,
} from '../deployments/deployment.ts';
import { isGreenlightError } from '../errors.ts';
import type { Policy } from '../policy.ts';
import type {
  CardStore,
  DeploymentRef,
  GitLabReader,
  Identity,
  IdentityPort,
  Logger,
  SlackUser,
  WorkQueue,
} from '../ports.ts';
import { chooseRule, type MembershipPort } from './eligible-approvers.ts';
import { approvalRefusal, approverOf } from './may-approve.ts';
import { withKnownCommitAuthor } from './resolve-commit-author.ts';
import type { RefusalReason } from './notices.ts';
import { canSee, viewerOf, type VisibilityPort } from '../visibility/can-see.ts';

export type DecisionAction = 'approve' | 'reject' | 'run';

export type DecisionRequest = {
  ref: DeploymentRef;
  slackUser: SlackUser;
  action: DecisionAction;
  comment?: string;
  representedAs?: string;
  /**
   * This click was tried before (its process died, or GitLab's answer was lost): GitLab may have recorded it
   * already. Its own decision found in GitLab is then this click's, and reported as recorded.
   */
  retried?: boolean;
};

export type DecisionOutcome =
  | { kind: 'recorded'; action: DecisionAction; as: GitLabUser; deployment: Deployment }
  /** The person could approve for several rules that still need approvals: they must say which. */
  | { kind: 'choose_rule'; rules: string[]; as: GitLabUser; deployment: Deployment }
  | {
      kind: 'refused';
      reason: RefusalReason;
      deployment?: Deployment;
      as?: GitLabUser;
      detail?: string;
      by?: GitLabUser | null;
    };

export type DecideDeps = {
  gitlab: GitLabReader;
  identity: Pick<IdentityPort, 'resolve' | 'actorFor'>;
  cards: Pick<CardStore, 'get'>;
  queue: WorkQueue;
  policy: Pick<Policy, 'fourEyes'>;
  logger: Logger;
  /** Rule membership, to send represented_as where GitLab's own pick would not count (see chooseRule). */
  membership?: MembershipPort;
  /** who could see a deployment anyway (src/core/visibility): a click from anyone else does nothing */
  visibility: VisibilityPort;
};

/** GitLab's refusals (HTTP 400 with a message), as the GitLab adapter classifies them. */
const GITLAB_REFUSALS: Record<string, RefusalReason> = {
  self_approval: 'self_approval',
  no_permission: 'no_permission',
  not_waiting: 'not_waiting',
  not_protected: 'not_protected',
  not_configured: 'not_configured',
  represented_as_invalid: 'represented_as_invalid',
  comment_too_long: 'comment_too_long',
  unplayable: 'unplayable',
};

/**
 * A person clicked Approve, Reject or Run. Resolve who they are in GitLab, refuse what must be refused
 * before GitLab is called (the creator never approves their own deployment), then record the decision
 * in GitLab as that person and ask for the card to be refreshed.
 */
export async function decideDeployment(deps: DecideDeps, request: DecisionRequest): Promise<DecisionOutcome> {
  const { ref, action } = request;
  const resolution = await deps.identity.resolve(request.slackUser);
  // The creator rule needs no GitLab call when the card already knows who triggered the deployment
  // (its record came from GitLab, never from the button's value).
  const known = await deps.cards.get(ref.deploymentId);
  const shown = known && known.projectId === ref.projectId ? known : { ...ref, channel: '' };
  if (!(await canSee(deps, viewerOf(request.slackUser, resolution), shown)))
    return { kind: 'refused', reason: 'not_visible' };
  if (resolution.kind === 'unlinked')
    return { kind: 'refused', reason: 'unlinked', ...(resolution.reason && { detail: resolution.reason }) };
  if (resolution.kind === 'broken') return { kind: 'refused', reason: 'link_broken', detail: resolution.reason };
  const identity = resolution.identity;

  // A newer deployment replaced this one; its card has no buttons any more, this click came from an old view.
  if (known && known.projectId === ref.projectId && known.state === 'superseded') {
    return { kind: 'refused', reason: 'superseded', as: identity.gitlab, deployment: known.snapshot };
  }
  const forbidden =
    action === 'approve' && known && known.projectId === ref.projectId
      ? approvalRefusal(known.snapshot, approverOf(identity), deps.policy)
      : null;
  if (forbidden) return { kind: 'refused', reason: forbidden, as: identity.gitlab, deployment: known!.snapshot };

  const read = await deps.gitlab.getDeployment(ref);
  if (!read) return { kind: 'refused', reason: 'not_found' };
  // The commit author's GitLab account, as the card's last sync looked it up.
  const deployment = withKnownCommitAuthor(read, known && known.projectId === ref.projectId ? known.snapshot : null);
  if (request.retried && action !== 'run' && hasDecided(deployment, identity, action)) {
    deps.logger.info(
      { deploymentId: ref.deploymentId, action, gitlabUser: identity.gitlab.username },
      'decision found recorded in GitLab by an earlier try',
    );
    await deps.queue.requestSync(ref, `${action} recorded`);
    return { kind: 'recorded', action, as: identity.gitlab, deployment };
  }
  const refusal = refuseLocally(deps, request, deployment, identity);
  if (refusal) {
    // The card may be behind what GitLab says (a lost webhook): bring it up to date.
    if (refusal.reason === 'not_waiting' || refusal.reason === 'already_decided')
      await deps.queue.requestSync(ref, `click refused: ${refusal.reason}`);
    return refusal;
  }

  let representedAs = request.representedAs;
  if (action === 'approve') {
    const chosen = await ruleToApproveFor(deps, deployment, identity, representedAs);
    if (chosen.kind === 'choose') return { kind: 'choose_rule', rules: chosen.rules, as: identity.gitlab, deployment };
    representedAs = chosen.representedAs;
  }

  const actor = await deps.identity.actorFor(identity);
  try {
    if (action === 'run') await actor.playJob(ref.projectId, deployment.job!.id);
    else
      await actor.recordDecision(ref, {
        status: action === 'approve' ? 'approved' : 'rejected',
        ...(request.comment !== undefined && { comment: request.comment }),
        ...(representedAs !== undefined && { representedAs }),
      });
  } catch (error) {
    const refused = gitlabRefusal(error, action);
    if (!refused) throw error;
    await deps.queue.requestSync(ref, 'gitlab refused a decision');
    const detail = refused === 'link_broken' || refused === 'gitlab_refused' ? (error as Error).message : undefined;
    return {
      kind: 'refused',
      reason: refused,
      deployment,
      as: identity.gitlab,
      ...(detail !== undefined && { detail }),
    };
  }
  deps.logger.info(
    { deploymentId: ref.deploymentId, action, gitlabUser: identity.gitlab.username },
    'decision recorded in GitLab',
  );
  await deps.queue.requestSync(ref, `${action} recorded`);
  return { kind: 'recorded', action, as: identity.gitlab, deployment };
}

/**
 * The rule an approval counts for. A rule the person chose that meanwhile got its approvals is dropped
 * (GitLab would record an approval that adds nothing) and the choice is made again from fresh data.
 * Membership that cannot be read leaves the choice to GitLab, as a plain approval would.
 */
async function ruleToApproveFor(
  deps: DecideDeps,
  deployment: Deployment,
  identity: Identity,
  requested: string | undefined,
): Promise<{ kind: 'send'; representedAs: string | undefined } | { kind: 'choose'; rules: string[] }> {
  if (requested !== undefined) {
    if (ruleProgress(deployment).some((p) => p.rule.name === requested && !p.satisfied))
      return { kind: 'send', representedAs: requested };
    deps.logger.info(
      { deploymentId: deployment.id, rule: requested },
      'the chosen rule no longer needs approvals; choosing again',
    );
  }
  if (!deps.membership) return { kind: 'send', representedAs: undefined };
  try {
    const choice = await chooseRule(
      { membership: deps.membership, policy: deps.policy },
      deployment,
      identity.gitlab.id,
    );
    if (choice.kind === 'several') {
      // represented_as matches by name: rules named alike (a project and a group "Maintainers") are one choice.
      const names = [...new Set(choice.rules.map((r) => r.name))];
      return names.length > 1 ? { kind: 'choose', rules: names } : { kind: 'send', representedAs: names[0] };
    }
    return { kind: 'send', representedAs: choice.kind === 'one' ? choice.rule.name : undefined };
  } catch (error) {
    deps.logger.warn(
      { deploymentId: deployment.id, err: (error as Error).message },
      'could not read rule membership; GitLab picks the rule',
    );
    return { kind: 'send', representedAs: undefined };
  }
}

type Refusal = Extract<DecisionOutcome, { kind: 'refused' }>;

function refuseLocally(
  deps: DecideDeps,
  request: DecisionRequest,
  deployment: Deployment,
  identity: Identity,
): Refusal | null {
  const state = classify(deployment);
  const as = identity.gitlab;
  if (request.action === 'run') {
    if (state === 'waiting') return { kind: 'refused', reason: 'not_approved_yet', deployment, as };
    if (state !== 'approved' || !deployment.job)
      return {
        kind: 'refused',
        reason: 'not_waiting',
        deployment,
        as,
        detail: state ?? 'unknown',
        by: lastActor(deployment),
      };
    return null;
  }
  const forbidden =
    request.action === 'approve' ? approvalRefusal(deployment, approverOf(identity), deps.policy) : null;
  if (forbidden) return { kind: 'refused', reason: forbidden, deployment, as };
  if (state !== 'waiting')
    return {
      kind: 'refused',
      reason: 'not_waiting',
      deployment,
      as,
      detail: state ?? 'unknown',
      by: lastActor(deployment),
    };
  if (hasDecided(deployment, identity, request.action)) {
    const wanted = request.action === 'approve' ? 'approved' : 'rejected';
    return { kind: 'refused', reason: 'already_decided', deployment, as, detail: wanted };
  }
  return null;
}

/** GitLab shows this person's approval (or rejection) of the deployment. */
function hasDecided(deployment: Deployment, identity: Identity, action: 'approve' | 'reject'): boolean {
  const wanted = action === 'approve' ? 'approved' : 'rejected';
  return allApprovals(deployment).some((a) => a.user.id === identity.gitlab.id && a.status === wanted);
}

function lastActor(deployment: Deployment): GitLabUser | null {
  const rejection = rejectionOf(deployment);
  if (rejection) return rejection.user;
  return (
    allApprovals(deployment)
      .filter((a) => a.status === 'approved')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .at(-1)?.user ?? null
  );
}

function gitlabRefusal(error: unknown, action: DecisionAction): RefusalReason | null {
  if (!isGreenlightError(error)) return null;
  if (error.code === 'identity_broken') return 'link_broken';
  if (error.code === 'gitlab_not_found') return 'not_found';
  if (error.code === 'gitlab_forbidden') return action === 'run' ? 'run_forbidden' : 'forbidden';
  if (error.code === 'gitlab_refused') return GITLAB_REFUSALS[error.detail ?? ''] ?? 'gitlab_refused';
  return null;
}
