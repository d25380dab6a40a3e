/** Which deployment: GitLab's ids of the project and of the deployment. */
export type DeploymentRef = { projectId: number; deploymentId: number };

/** A GitLab deployment as greenlight needs it, read from the single-deployment API (never from a webhook). */
export type GitLabUser = { id: number; username: string; name: string };

export type ApprovalStatus = 'approved' | 'rejected';

export type Approval = { user: GitLabUser; status: ApprovalStatus; comment: string | null; createdAt: string };

export type ApprovalRule = {
  id: number | null;
  userId: number | null;
  groupId: number | null;
  accessLevel: number | null;
  /** GitLab's access_level_description: display text only, never used for decisions. */
  name: string;
  required: number;
  groupInheritanceType: number | null;
  approvals: readonly Approval[];
};

export type DeploymentStatus = 'created' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'blocked';

export type Deployment = {
  id: number;
  iid: number;
  project: { id: number; path: string; name: string; webUrl: string };
  environment: { id: number; name: string; tier: string | null; externalUrl: string | null; webUrl: string };
  ref: string;
  sha: string;
  commit: {
    title: string | null;
    webUrl: string | null;
    authorEmail: string | null;
    /**
     * The GitLab account with the author's e-mail, looked up only when the four-eyes rule forbids the commit author
     * (src/core/approvals/resolve-commit-author.ts): null = none found, absent = not looked up.
     */
    author?: GitLabUser | null;
  };
  status: DeploymentStatus;
  createdAt: string;
  updatedAt: string;
  /** deployment.user: who triggered the pipeline. Never changes; the one who can never approve. */
  creator: GitLabUser | null;
  job: {
    id: number;
    name: string;
    status: string;
    webUrl: string | null;
    failureReason: string | null;
    user: GitLabUser | null;
  } | null;
  /** `updatedAt`: moved by GitLab with every status change of the pipeline (absent where a source does not say). */
  pipeline: { id: number; webUrl: string | null; updatedAt?: string | null } | null;
  pendingApprovalCount: number;
  approvals: readonly Approval[];
  rules: readonly ApprovalRule[];
};

/** What a card shows; also the state machine of a deployment as greenlight tracks it. */
export type CardState =
  | 'waiting' // blocked, approvals pending
  | 'approved' // every rule has its approvals; the job is still manual and must be run
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'canceled'
  | 'superseded';

/** Higher never goes back to lower: events arrive out of order, cards must not move backwards. */
export const STATE_RANK: Readonly<Record<CardState, number>> = {
  waiting: 0,
  approved: 1,
  running: 2,
  succeeded: 3,
  failed: 3,
  rejected: 3,
  canceled: 3,
  superseded: 3,
};

export function isResolved(state: CardState): boolean {
  return STATE_RANK[state] >= 3;
}

/** Every approval on the deployment, across rules, without duplicates. */
export function allApprovals(d: Deployment): Approval[] {
  const seen = new Map<string, Approval>();
  for (const a of [...d.approvals, ...d.rules.flatMap((r) => r.approvals)]) seen.set(`${a.user.id}:${a.status}`, a);
  return [...seen.values()];
}

export function rejectionOf(d: Deployment): Approval | null {
  return allApprovals(d).find((a) => a.status === 'rejected') ?? null;
}

/**
 * The state greenlight tracks, computed the way GitLab does: rejected if any approval is a rejection,
 * waiting while pending_approval_count > 0; `null` for deployments that are not gated by approvals
 * (plain manual jobs) or have not started.
 */
export function classify(d: Deployment): CardState | null {
  if (rejectionOf(d) || d.job?.failureReason === 'deployment_rejected') return 'rejected';
  switch (d.status) {
    case 'blocked':
      if (d.pendingApprovalCount > 0) return 'waiting';
      return d.rules.length > 0 ? 'approved' : null;
    case 'running':
      return 'running';
    case 'success':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'canceled':
    case 'skipped':
      return 'canceled';
    case 'created':
      return null;
  }
}

export type RuleProgress = {
  rule: ApprovalRule;
  approved: number;
  required: number;
  approvers: Approval[];
  satisfied: boolean;
};

export function ruleProgress(d: Deployment): RuleProgress[] {
  return d.rules.map((rule) => {
    const approvers = rule.approvals.filter((a) => a.status === 'approved');
    return {
      rule,
      approved: approvers.length,
      required: rule.required,
      approvers,
      satisfied: approvers.length >= rule.required,
    };
  });
}

/** Approvals so far out of required, summed over rules as GitLab counts them. */
export function approvalTotals(d: Deployment): { approved: number; required: number } {
  const progress = ruleProgress(d);
  const required = progress.reduce((n, p) => n + p.required, 0);
  const approved = progress.reduce((n, p) => n + Math.min(p.approved, p.required), 0);
  if (required > 0) return { approved, required };
  const given = d.approvals.filter((a) => a.status === 'approved').length;
  return { approved: given, required: given + d.pendingApprovalCount };
}

export function shortSha(d: Deployment): string {
  return d.sha.slice(0, 8);
}
