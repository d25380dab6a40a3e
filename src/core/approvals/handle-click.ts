import { classify, type GitLabUser } from '../deployments/deployment.ts';
import { GreenlightError, isGreenlightError } from '../errors.ts';
import type { Clock, DeploymentRef, GitLabReader, IdentityPort, Logger, SlackUser } from '../ports.ts';
import { decideDeployment, type DecideDeps, type DecisionAction } from './decide-deployment.ts';
import { chooseRuleNotice, failureNotice, recordedNotice, refusalNotice, type Notice } from './notices.ts';

/** A click on Approve, Reject or Run, as queued by the Slack listener. */
export type Click = {
  ref: DeploymentRef;
  slackUser: SlackUser;
  action: DecisionAction;
  comment?: string;
  representedAs?: string;
  /** where the person clicked, for their notice (null: the Home tab; the notice goes to their DM) */
  channel: string | null;
  requestedAt: number;
  /** tried before (its process died, or GitLab's answer was lost): see DecisionRequest.retried */
  retried?: boolean;
};

/** One decision attempt, as an auditor reads it. Strings only: empty when not known. */
export type AuditEntry = {
  /** ISO time of the attempt */
  at: string;
  team: string;
  slackUser: string;
  gitlabUser: string;
  /** the project's path (its id only when neither GitLab nor a card shows the deployment any more) */
  project: string;
  deployment: string;
  /** approve | reject | run */
  action: string;
  comment: string;
  /** recorded, a refusal reason (self_approval, unlinked, ...), expired, error or gave_up */
  outcome: string;
  error: string;
};

/** A click older than this is not sent to GitLab any more (the worker was down, or the queue stuck). */
export const DECISION_WINDOW_MS = 60_000;

export type HandleClickDeps = {
  decide: Omit<DecideDeps, 'logger'>;
  gitlab: Pick<GitLabReader, 'getDeployment'>;
  identity: Pick<IdentityPort, 'slackUserFor'>;
  /** Every decision attempt is appended here, whatever its outcome. */
  audit: { append(entry: AuditEntry): Promise<void> };
  notices: { enqueueNotice(job: { channel: string; user: string; team?: string; notice: Notice }): Promise<void> };
  clock: Clock;
  linkMode: 'oauth' | 'sudo';
  command: string;
  logger: Logger;
  /** default DECISION_WINDOW_MS */
  decisionWindowMs?: number;
};

/**
 * A person clicked: record the decision in GitLab as them (decideDeployment), unless the click is older than
 * the decision window; audit the attempt and tell the person what happened. Returns the outcome's name.
 */
export async function handleClick(deps: HandleClickDeps, click: Click): Promise<string> {
  const log = deps.logger;
  const windowMs = deps.decisionWindowMs ?? DECISION_WINDOW_MS;
  const ageMs = deps.clock.now() - click.requestedAt;
  if (ageMs > windowMs) {
    log.warn(
      { deploymentId: click.ref.deploymentId, action: click.action, ageMs },
      'decision expired before it could be processed',
    );
    await audit(deps, click, { outcome: 'expired' });
    await tell(deps, click, {
      tone: 'error',
      text: 'greenlight could not process your click in time, so nothing was recorded in GitLab. Please click again.',
    });
    return 'expired';
  }
  let outcome;
  try {
    outcome = await decideDeployment(
      { ...deps.decide, logger: log },
      {
        ref: click.ref,
        slackUser: click.slackUser,
        action: click.action,
        ...(click.comment !== undefined && { comment: click.comment }),
        ...(click.representedAs !== undefined && { representedAs: click.representedAs }),
        ...(click.retried && { retried: true }),
      },
    );
  } catch (error) {
    await audit(deps, click, { outcome: 'error', error: errorText(error) });
    // GitLab asks to wait past the window (Retry-After): no retry could record it in time, so give up now.
    if (isGreenlightError(error) && error.retryable && ageMs + (error.retryAfterMs ?? 0) > windowMs)
      throw new GreenlightError(error.code, error.message, { retryable: false, detail: error.detail, cause: error });
    throw error;
  }
  const d = outcome.deployment;
  await audit(deps, click, {
    outcome: outcome.kind === 'refused' ? outcome.reason : outcome.kind,
    gitlabUser: outcome.as?.username ?? '',
    // refused before the deployment was read (unlinked, ...): its path from the card, else from GitLab
    project: d?.project.path ?? (await projectPath(deps, click, { readGitLab: true })),
    ...(outcome.kind === 'refused' && outcome.detail !== undefined && { error: outcome.detail }),
  });
  const what = d ? `${d.project.path} → ${d.environment.name}` : `deployment #${click.ref.deploymentId}`;
  let notice: Notice;
  if (outcome.kind === 'recorded') {
    notice = recordedNotice(outcome.action, { what, username: outcome.as.username });
  } else if (outcome.kind === 'choose_rule') {
    notice = chooseRuleNotice(click.ref, outcome.rules, what);
  } else {
    const state = d ? (classify(d) ?? undefined) : undefined;
    notice = refusalNotice(outcome.reason, {
      linkMode: deps.linkMode,
      command: deps.command,
      ...(state !== undefined && { state }),
      ...(outcome.by !== undefined && { by: outcome.by ? await mention(deps, outcome.by) : null }),
      ...(outcome.detail !== undefined && { detail: outcome.detail }),
    });
  }
  log.info(
    {
      deploymentId: click.ref.deploymentId,
      action: click.action,
      outcome: outcome.kind,
      reason: outcome.kind === 'refused' ? outcome.reason : undefined,
    },
    'decision processed',
  );
  await tell(deps, click, notice);
  return outcome.kind === 'refused' ? outcome.reason : outcome.kind;
}

/** The click's retries ran out: audited, and the person is told that nothing was recorded. */
export async function giveUpClick(deps: HandleClickDeps, click: Click, error: unknown): Promise<void> {
  await audit(deps, click, { outcome: 'gave_up', error: errorText(error) });
  const noun = click.action === 'approve' ? 'approval' : click.action === 'reject' ? 'rejection' : 'run request';
  await tell(deps, click, failureNotice(error, noun));
}

/** Who decided, for the person's notice: a Slack mention when known (ephemeral: nobody is notified). */
async function mention(deps: HandleClickDeps, user: GitLabUser): Promise<string> {
  const slack = await deps.identity.slackUserFor(user).catch(() => null);
  return slack ? `<@${slack}>` : `${user.name.replace(/[<>&]/g, '')} (@${user.username})`;
}

async function tell(deps: HandleClickDeps, click: Pick<Click, 'channel' | 'slackUser'>, notice: Notice) {
  // A click on the Home tab has no channel: addressed to the person's own id, the notice goes to their DM.
  await deps.notices.enqueueNotice({
    channel: click.channel ?? click.slackUser.userId,
    user: click.slackUser.userId,
    team: click.slackUser.teamId,
    notice,
  });
}

/**
 * Appends one decision attempt to the audit trail. A failed append is logged, not thrown: by then GitLab
 * may already have recorded the decision, and a retry must not record it twice.
 */
async function audit(
  deps: HandleClickDeps,
  click: Click,
  fields: Partial<AuditEntry> & Pick<AuditEntry, 'outcome'>,
): Promise<void> {
  const entry: AuditEntry = {
    at: new Date(deps.clock.now()).toISOString(),
    team: click.slackUser.teamId,
    slackUser: click.slackUser.userId,
    gitlabUser: '',
    project: fields.project ?? (await projectPath(deps, click, { readGitLab: false })),
    deployment: String(click.ref.deploymentId),
    action: click.action,
    comment: click.comment ?? '',
    error: '',
    ...fields,
  };
  try {
    await deps.audit.append(entry);
  } catch (error) {
    deps.logger.error(
      {
        err: errorText(error),
        deploymentId: click.ref.deploymentId,
        slackUser: click.slackUser.userId,
        outcome: entry.outcome,
      },
      'audit entry could not be written',
    );
  }
}

/**
 * The project's path for the audit trail: from the card the click came from (no GitLab call), else, when
 * `readGitLab`, from the deployment read with greenlight's own token; the id only when neither knows it.
 */
async function projectPath(deps: HandleClickDeps, click: Click, opts: { readGitLab: boolean }): Promise<string> {
  const card = await deps.decide.cards.get(click.ref.deploymentId).catch(() => null);
  if (card && card.projectId === click.ref.projectId) return card.snapshot.project.path;
  if (opts.readGitLab) {
    const deployment = await deps.gitlab.getDeployment(click.ref).catch(() => null);
    if (deployment) return deployment.project.path;
  }
  return String(click.ref.projectId);
}

function errorText(error: unknown): string {
  if (isGreenlightError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
