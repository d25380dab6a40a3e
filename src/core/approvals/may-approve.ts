import type { Deployment } from '../deployments/deployment.ts';
import type { Policy } from '../policy.ts';
import type { Identity } from '../ports.ts';

/**
 * A person as the four-eyes rule sees them: their GitLab account and, when known, the e-mail addresses that are
 * theirs (their identity's; a rule member read from GitLab comes without).
 */
export type Approver = { id: number; emails?: readonly string[] };

/** Why a person may never approve a deployment, whatever GitLab's rules say. */
export type ApprovalRefusal = 'self_approval' | 'commit_author';

/**
 * The one rule for who may approve a deployment; the decision, the card's "can approve", `/deploys mine`, the
 * Home tab, reminders and DMs all ask it. The deployment's creator never may. With
 * `four_eyes.forbid_commit_author` the author of the deployed commit may not either: known by the GitLab account
 * behind the commit's e-mail (`commit.author`, see resolve-commit-author.ts) or by the person's own e-mails.
 * Whether a rule still needs them, and whether they have decided already, is for the callers to add.
 */
export function approvalRefusal(
  deployment: Deployment,
  person: Approver,
  policy: Pick<Policy, 'fourEyes'>,
): ApprovalRefusal | null {
  if (deployment.creator !== null && deployment.creator.id === person.id) return 'self_approval';
  if (policy.fourEyes.forbidCommitAuthor && isCommitAuthor(deployment, person)) return 'commit_author';
  return null;
}

export function mayApprove(deployment: Deployment, person: Approver, policy: Pick<Policy, 'fourEyes'>): boolean {
  return approvalRefusal(deployment, person, policy) === null;
}

function isCommitAuthor(deployment: Deployment, person: Approver): boolean {
  const { author, authorEmail } = deployment.commit;
  if (author && author.id === person.id) return true;
  const email = authorEmail?.trim().toLowerCase();
  return !!email && person.emails?.some((e) => e.trim().toLowerCase() === email) === true;
}

/** A resolved identity as the rule sees it: the GitLab account and the e-mails known to be the person's. */
export function approverOf(identity: Pick<Identity, 'gitlab' | 'emails'>): Approver {
  return { id: identity.gitlab.id, ...(identity.emails && { emails: identity.emails }) };
}
