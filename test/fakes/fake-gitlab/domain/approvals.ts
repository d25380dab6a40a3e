// Deployments::ApprovalService: the §3 checks after the endpoint's own (project, deployment, status),
// in the documented order, then upsert_approval and, for a rejection, dropping the job.
import { humanizeRule, matchesRule, protectedEnvsFor } from '../access.ts';
import { fail, failMessage, ok, type Ctx, type Outcome } from '../context.ts';
import { lookup } from '../entities.ts';
import { nextId, type ApprovalRec, type ApprovalStatus, type DeploymentRec, type UserRec } from '../model.ts';
import { dropForRejection } from './jobs.ts';
import { approvalsOf, environmentOf, pendingApprovalCount, ruleSummaries } from './summary.ts';

export const APPROVAL_MESSAGES = {
  notProtected: 'This environment is not protected.',
  selfApproval:
    'You cannot approve your own deployment. This configuration can be adjusted in the protected environment settings.',
  notConfigured: 'Deployment approvals is not configured for this environment.',
  notWaiting: 'This deployment is not waiting for approvals.',
  noPermission: "You don't have permission to approve this deployment. Contact the project or group owner for help.",
  noRepresentedRule:
    'There are no approval rules for the given `represent_as` parameter. Use a valid User/Group/Role name instead.',
  commentTooLong: 'Comment is too long (maximum is 255 characters)',
} as const;

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['approved', 'rejected'];

export interface ApproveInput {
  deployment: DeploymentRec;
  actor: UserRec;
  status: ApprovalStatus;
  comment: string | null;
  representedAs: string | null;
}

export interface ApproveResult {
  approval: ApprovalRec;
  /** False for a repeat of the same status (nothing stored, no webhook). */
  changed: boolean;
}

export function approveDeployment(ctx: Ctx, input: ApproveInput): Outcome<ApproveResult> {
  const { state } = ctx;
  const { deployment, actor, status } = input;
  const environment = environmentOf(state, deployment);
  const project = lookup(state.projects, deployment.projectId, 'project');

  if (protectedEnvsFor(state, environment).length === 0) return failMessage(400, APPROVAL_MESSAGES.notProtected);
  if (status === 'approved' && deployment.userId === actor.id && !project.allowPipelineTriggerApproveDeployment) {
    return failMessage(400, APPROVAL_MESSAGES.selfApproval);
  }
  const rules = ruleSummaries(state, deployment);
  if (rules.length === 0) return failMessage(400, APPROVAL_MESSAGES.notConfigured);
  if (pendingApprovalCount(state, deployment) === 0) return failMessage(400, APPROVAL_MESSAGES.notWaiting);
  const mine = rules.filter((r) => matchesRule(state, actor, r.rule, r.container));
  if (mine.length === 0) return failMessage(400, APPROVAL_MESSAGES.noPermission);
  const representedAs = input.representedAs;
  const chosen =
    representedAs === null || representedAs === ''
      ? mine[0]
      : mine.find((r) => humanizeRule(state, r.rule).includes(representedAs));
  if (!chosen) return failMessage(400, APPROVAL_MESSAGES.noRepresentedRule);

  const existing = approvalsOf(state, deployment.id).find((a) => a.userId === actor.id && a.ruleId === chosen.rule.id);
  if (existing && existing.status === status) return ok({ approval: existing, changed: false });
  if (input.comment !== null && [...input.comment].length > 255) {
    return failMessage(400, [APPROVAL_MESSAGES.commentTooLong]);
  }
  const job = lookup(state.jobs, deployment.jobId, 'job');
  if (status === 'rejected' && job.status === 'failed') {
    // Inference (§3): drop! on an already failed job raises; GitLab answers 500 and stores nothing.
    return fail(500, { message: '500 Internal Server Error' });
  }

  const now = ctx.clock.now();
  const approval: ApprovalRec = existing ?? {
    id: nextId(state, 'approval'),
    deploymentId: deployment.id,
    userId: actor.id,
    ruleId: chosen.rule.id,
    status,
    comment: input.comment,
    createdAt: now,
    updatedAt: now,
  };
  approval.status = status;
  approval.comment = input.comment;
  approval.updatedAt = now;
  state.approvals.set(approval.id, approval);
  deployment.updatedAt = now;
  ctx.emit({ kind: 'deployment', deploymentId: deployment.id, status, at: now, approvalId: approval.id });
  if (status === 'rejected') dropForRejection(ctx, deployment);
  return ok({ approval, changed: true });
}
