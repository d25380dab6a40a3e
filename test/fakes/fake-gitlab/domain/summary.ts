// Approval arithmetic of §4: requirement = sum of the rules; rejections never reduce what is pending.
import { approvalRulesFor, type BoundRule } from '../access.ts';
import type { ApprovalRec, DeploymentRec, EnvironmentRec, State } from '../model.ts';

export function environmentOf(state: State, deployment: DeploymentRec): EnvironmentRec {
  const environment = state.environments.get(deployment.environmentId);
  if (!environment) throw new Error(`fake GitLab: deployment ${deployment.id} has no environment`);
  return environment;
}

export function approvalsOf(state: State, deploymentId: number): ApprovalRec[] {
  return [...state.approvals.values()].filter((a) => a.deploymentId === deploymentId).sort((a, b) => a.id - b.id);
}

export interface RuleSummary extends BoundRule {
  approvals: ApprovalRec[];
  approvedCount: number;
  pending: number;
}

export function ruleSummaries(state: State, deployment: DeploymentRec): RuleSummary[] {
  const approvals = approvalsOf(state, deployment.id);
  return approvalRulesFor(state, environmentOf(state, deployment)).map((bound) => {
    const mine = approvals.filter((a) => a.ruleId === bound.rule.id);
    const approvedCount = mine.filter((a) => a.status === 'approved').length;
    return {
      ...bound,
      approvals: mine,
      approvedCount,
      pending: Math.max(bound.rule.requiredApprovals - approvedCount, 0),
    };
  });
}

export function pendingApprovalCount(state: State, deployment: DeploymentRec): number {
  return ruleSummaries(state, deployment).reduce((sum, r) => sum + r.pending, 0);
}

export function needsApproval(state: State, environment: EnvironmentRec): boolean {
  return approvalRulesFor(state, environment).length > 0;
}

/** GraphQL-style summary status (REST has none; the fake's views expose it for convenience). */
export function approvalSummaryStatus(
  state: State,
  deployment: DeploymentRec,
): 'approved' | 'rejected' | 'pending_approval' {
  const rules = ruleSummaries(state, deployment);
  if (rules.some((r) => r.approvals.some((a) => a.status === 'rejected'))) return 'rejected';
  if (rules.every((r) => r.approvedCount >= r.rule.requiredApprovals)) return 'approved';
  return 'pending_approval';
}
