import {
  allApprovals,
  ruleProgress,
  type ApprovalRule,
  type Deployment,
  type GitLabUser,
} from '../deployments/deployment.ts';
import type { Policy } from '../policy.ts';
import { mayApprove, type Approver } from './may-approve.ts';

/** Who satisfies an approval rule, as GitLab would judge it (read and cached by the GitLab adapter). */
export interface MembershipPort {
  ruleMembers(projectId: number, rule: ApprovalRule): Promise<GitLabUser[]>;
}

/** Rule membership and the four-eyes policy: what every "who can approve" question needs. */
export type EligibilityDeps = { membership: MembershipPort; policy: Pick<Policy, 'fourEyes'> };

export type MissingApprovals = {
  rule: ApprovalRule;
  /** approvals this rule still needs */
  missing: number;
  /** people who could give them: in the rule, allowed by mayApprove, not already decided on this deployment */
  people: GitLabUser[];
};

/**
 * For each rule that still needs approvals: who could still give them. Nobody mayApprove refuses is among them
 * (the deployment's creator, and the commit author when the policy says so), nor anyone who has already approved
 * or rejected this deployment (GitLab counts one approval per person).
 */
export async function whoCanStillApprove(deps: EligibilityDeps, deployment: Deployment): Promise<MissingApprovals[]> {
  const decided = new Set(allApprovals(deployment).map((a) => a.user.id));
  const open = ruleProgress(deployment).filter((p) => !p.satisfied);
  return Promise.all(
    open.map(async (p) => {
      const members = await deps.membership.ruleMembers(deployment.project.id, p.rule);
      const people = members.filter((u) => !decided.has(u.id) && mayApprove(deployment, u, deps.policy));
      return { rule: p.rule, missing: p.required - p.approved, people };
    }),
  );
}

/**
 * Whether this person could still approve: allowed by mayApprove (with their own e-mails too), in a rule that
 * still needs approvals, not decided yet.
 */
export async function canStillApprove(
  deps: EligibilityDeps,
  deployment: Deployment,
  person: Approver,
): Promise<boolean> {
  if (!mayApprove(deployment, person, deps.policy)) return false;
  const missing = await whoCanStillApprove(deps, deployment);
  return missing.some((m) => m.people.some((u) => u.id === person.id));
}

/** The rules this user could approve for (more than one: ask which, and send represented_as). */
export async function rulesFor(deps: EligibilityDeps, deployment: Deployment, userId: number): Promise<ApprovalRule[]> {
  const missing = await whoCanStillApprove(deps, deployment);
  return missing.filter((m) => m.people.some((u) => u.id === userId)).map((m) => m.rule);
}

/** Which rule an approval should count for, and whether greenlight must say so (represented_as). */
export type RuleChoice =
  /** GitLab's own pick (the first rule the person matches) is a rule that still needs approvals, or we cannot tell. */
  | { kind: 'gitlab_decides' }
  /** One open rule fits, but GitLab would count the approval for an earlier, satisfied rule: name the open one. */
  | { kind: 'one'; rule: ApprovalRule }
  /** Several open rules fit: the person chooses. */
  | { kind: 'several'; rules: ApprovalRule[] };

/**
 * GitLab counts an approval for the first rule the approver matches (find_approval_rule_for), satisfied or
 * not, unless represented_as names another. So an approver in a satisfied rule and an open one would add
 * nothing without represented_as, and an approver in several open rules should pick.
 */
export async function chooseRule(deps: EligibilityDeps, deployment: Deployment, userId: number): Promise<RuleChoice> {
  const open = await rulesFor(deps, deployment, userId);
  if (open.length > 1) return { kind: 'several', rules: open };
  const [only] = open;
  if (!only) return { kind: 'gitlab_decides' };
  for (const rule of deployment.rules) {
    if (rule === only) return { kind: 'gitlab_decides' };
    const members = await deps.membership.ruleMembers(deployment.project.id, rule);
    if (members.some((u) => u.id === userId)) return { kind: 'one', rule: only };
  }
  return { kind: 'gitlab_decides' };
}
