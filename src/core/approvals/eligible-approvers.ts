import { allApprovals, ruleProgress, type ApprovalRule, type Deployment, type GitLabUser } from '../deployments/deployment.ts';

/** Who satisfies an approval rule, as GitLab would judge it (read and cached by the GitLab adapter). */
export interface MembershipPort {
  ruleMembers(projectId: number, rule: ApprovalRule): Promise<GitLabUser[]>;
}

export type MissingApprovals = {
  rule: ApprovalRule;
  /** approvals this rule still needs */
  missing: number;
  /** people who could give them: in the rule, not the creator, not already decided on this deployment */
  people: GitLabUser[];
};

/**
 * For each rule that still needs approvals: who could still give them. The deployment's creator is never
 * among them (they can never approve), nor anyone who has already approved or rejected this deployment
 * (GitLab counts one approval per person).
 */
export async function whoCanStillApprove(deps: { membership: MembershipPort }, deployment: Deployment): Promise<MissingApprovals[]> {
  const decided = new Set(allApprovals(deployment).map((a) => a.user.id));
  const creator = deployment.creator?.id;
  const open = ruleProgress(deployment).filter((p) => !p.satisfied);
  return Promise.all(
    open.map(async (p) => {
      const members = await deps.membership.ruleMembers(deployment.project.id, p.rule);
      const people = members.filter((u) => u.id !== creator && !decided.has(u.id));
      return { rule: p.rule, missing: p.required - p.approved, people };
    }),
  );
}

/** Whether this GitLab user could still approve: in a rule that needs approvals, not the creator, not decided. */
export async function canStillApprove(deps: { membership: MembershipPort }, deployment: Deployment, userId: number): Promise<boolean> {
  const missing = await whoCanStillApprove(deps, deployment);
  return missing.some((m) => m.people.some((u) => u.id === userId));
}

/** The rules this user could approve for (more than one: ask which, and send represented_as). */
export async function rulesFor(deps: { membership: MembershipPort }, deployment: Deployment, userId: number): Promise<ApprovalRule[]> {
  const missing = await whoCanStillApprove(deps, deployment);
  return missing.filter((m) => m.people.some((u) => u.id === userId)).map((m) => m.rule);
}
