import type { Job } from 'bullmq';
import { decideDeployment, type DecideDeps } from '../../core/approvals/decide-deployment.ts';
import {
  chooseRuleNotice,
  failureNotice,
  recordedNotice,
  refusalNotice,
  type Notice,
} from '../../core/approvals/notices.ts';
import { syncCard, type SyncCardDeps } from '../../core/cards/sync-card.ts';
import { classify, type GitLabUser } from '../../core/deployments/deployment.ts';
import { isGreenlightError } from '../../core/errors.ts';
import { identifyDeployment } from '../../core/intake/identify-deployment.ts';
import { scanProject } from '../../core/intake/scan-project.ts';
import { classifyProject, type ClassifyDeps } from '../../core/intake/classify-project.ts';
import type { ChatPort, DeploymentRef, GitLabReader, Logger } from '../../core/ports.ts';
import { sendDueNudge } from '../../core/reminders/send-nudge.ts';
import { snoozeNudges } from '../../core/reminders/snooze-nudges.ts';
import { trackNudges, type NudgeDeps } from '../../core/reminders/track-nudges.ts';
import type { DecisionJob, NoticeJob, NudgeJob, Producer, ScanJob, SyncJob } from '../../adapters/queue/queues.ts';
import type { AuditEntry, AuditLog } from '../../adapters/redis/audit-log.ts';
import type { IntakeEvent } from '../../core/intake/intake-event.ts';

export type ProcessorDeps = {
  gitlab: GitLabReader;
  producer: Producer;
  chat: ChatPort;
  sync: SyncCardDeps;
  decide: DecideDeps;
  /**
   * Projects seen in webhooks (the sweep lists them), and whether one's deployment hooks report `blocked`
   * (GitLab 19.3+, deployment events subscribed) lately: then its other hooks need no scan to find them.
   * Redis: createProjectMemory (src/adapters/redis/sweep-state.ts).
   */
  projects: {
    remember(projectId: number, opts: { reportsBlocked: boolean }): Promise<void>;
    reportsBlocked(projectId: number): Promise<boolean>;
  };
  linkMode: 'oauth' | 'sudo';
  command: string;
  /** A click older than this is not sent to GitLab any more (the worker was down, or the queue stuck). */
  decisionWindowMs: number;
  /** Every decision attempt is appended here, whatever its outcome. */
  audit: Pick<AuditLog, 'append'>;
  /** Called after a card was posted or changed (DMs and Home tabs follow it). */
  onCardChanged?(ref: DeploymentRef): Promise<void>;
  /** Reminders and escalations (src/core/reminders); without them no reminder is scheduled. */
  nudges?: NudgeDeps;
  /**
   * The sweep's classification (which projects can have deployments waiting): classify jobs read protected
   * environments; hooks keep it current (a blocked deployment proves a project can block; an environment of a
   * project that cannot, seen in a hook, has it classified again); sweep scans skip deployments with open cards.
   */
  sweep?: {
    classify: ClassifyDeps;
    hasOpenCard(deploymentId: number): Promise<boolean>;
    /** a hook named an environment of this project, or reported a blocked deployment of it */
    noteHook(projectId: number, opts: { blocked: boolean }): Promise<void>;
    forget(projectId: number): Promise<void>;
  };
};

/** Lifecycle statuses exist in every GitLab; these three only from 19.3, which reports each deployment itself. */
const MODERN_ONLY = new Set(['blocked', 'approved', 'rejected']);

export async function processIntake(deps: ProcessorDeps, event: IntakeEvent, log: Logger): Promise<void> {
  const reportsBlocked = event.kind === 'deployment' && MODERN_ONLY.has(event.status);
  await deps.projects.remember(event.projectId, { reportsBlocked });
  const named = event.kind === 'pipeline' ? event.environments : event.environment ? [event.environment] : [];
  if (deps.sweep && (named.length > 0 || reportsBlocked))
    await deps.sweep.noteHook(event.projectId, { blocked: reportsBlocked && event.status === 'blocked' });
  // Scans find blocked deployments GitLab before 19.3 says nothing of. Where the project's deployment hooks
  // report them, a scan per pipeline, job and deployment hook would only read again what the hook brings
  // (the sweep still lists every project).
  const scan = async (environments: string[], reason: string) => {
    if (await deps.projects.reportsBlocked(event.projectId)) {
      log.debug(
        { projectId: event.projectId, reason },
        "scan skipped: the project's deployment hooks report blocked deployments",
      );
      return;
    }
    await deps.producer.requestScan({ projectId: event.projectId, environments, reason });
  };
  switch (event.kind) {
    case 'deployment': {
      const deploymentId = event.deploymentId ?? (await identifyDeployment(deps.gitlab, event, log));
      if (deploymentId !== null)
        await deps.producer.requestSync(
          { projectId: event.projectId, deploymentId },
          `deployment hook: ${event.status}`,
        );
      if (!reportsBlocked || deploymentId === null)
        await scan(
          deploymentId === null && event.environment ? [event.environment] : [],
          `deployment hook: ${event.status}`,
        );
      break;
    }
    case 'pipeline':
      if (event.status === 'manual' || event.environments.length > 0)
        await scan(event.environments, `pipeline hook: ${event.status}`);
      break;
    case 'job':
      await scan(event.environment ? [event.environment] : [], `job hook: ${event.status}`);
      break;
  }
  log.debug({ kind: event.kind, projectId: event.projectId }, 'webhook event processed');
}

export async function processScan(deps: ProcessorDeps, job: ScanJob, log: Logger): Promise<number> {
  const { sweep } = deps;
  if (job.classify && sweep && typeof job.projectId === 'number') {
    const outcome = await classifyProject(
      { ...sweep.classify, logger: log },
      job.projectId,
      job.unlessClassifiedWithinMs === undefined ? {} : { unlessClassifiedWithinMs: job.unlessClassifiedWithinMs },
    );
    if (outcome !== 'can-block') return 0;
  }
  try {
    return await scanProject(
      { gitlab: deps.gitlab, queue: deps.producer, logger: log, ...(sweep && { hasOpenCard: sweep.hasOpenCard }) },
      {
        projectId: job.projectId,
        environments: job.environments,
        reason: job.reason,
        ...(job.skipOpenCards && { skipOpenCards: true, placement: { background: true } }),
      },
    );
  } catch (error) {
    // A project GitLab no longer shows us (deleted, access removed) is not swept any more.
    if (sweep && typeof job.projectId === 'number' && isGreenlightError(error, 'gitlab_not_found')) {
      await sweep.forget(job.projectId);
      log.info({ projectId: job.projectId }, 'sweep: stopped sweeping a project GitLab no longer shows');
      return 0;
    }
    throw error;
  }
}

export async function processSync(deps: ProcessorDeps, job: SyncJob, log: Logger) {
  const ref = { projectId: job.projectId, deploymentId: job.deploymentId };
  const outcome = await syncCard({ ...deps.sync, logger: log }, ref);
  // Start reminders for a waiting card, cancel them the moment it stops waiting.
  if (deps.nudges) await trackNudges({ ...deps.nudges, logger: log }, ref, { gone: outcome.kind === 'gone' });
  log.debug({ deploymentId: job.deploymentId, reason: job.reason, outcome: outcome.kind }, 'deployment synced');
  if ((outcome.kind === 'posted' || outcome.kind === 'updated') && deps.onCardChanged) {
    // The card is right already; failing the sync here would not bring this back (a rerun finds it unchanged).
    await deps
      .onCardChanged({ projectId: job.projectId, deploymentId: job.deploymentId })
      .catch((error: unknown) =>
        log.warn({ deploymentId: job.deploymentId, err: (error as Error).message }, 'DMs and Home tabs not scheduled'),
      );
  }
  return outcome;
}

export async function processDecision(deps: ProcessorDeps, job: DecisionJob, log: Logger): Promise<string> {
  if (Date.now() - job.requestedAt > deps.decisionWindowMs) {
    log.warn(
      { deploymentId: job.ref.deploymentId, action: job.action, ageMs: Date.now() - job.requestedAt },
      'decision expired before it could be processed',
    );
    await audit(deps, log, job, { outcome: 'expired' });
    await tell(deps, job, {
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
        ref: job.ref,
        slackUser: job.slackUser,
        action: job.action,
        ...(job.comment !== undefined && { comment: job.comment }),
        ...(job.representedAs !== undefined && { representedAs: job.representedAs }),
      },
    );
  } catch (error) {
    await audit(deps, log, job, { outcome: 'error', error: errorText(error) });
    throw error;
  }
  const d = outcome.deployment;
  await audit(deps, log, job, {
    outcome: outcome.kind === 'refused' ? outcome.reason : outcome.kind,
    gitlabUser: outcome.as?.username ?? '',
    // refused before the deployment was read (unlinked, ...): its path from the card, else from GitLab
    project: d?.project.path ?? (await projectPath(deps, job, { readGitLab: true })),
    ...(outcome.kind === 'refused' && outcome.detail !== undefined && { error: outcome.detail }),
  });
  const what = d ? `${d.project.path} → ${d.environment.name}` : `deployment #${job.ref.deploymentId}`;
  let notice: Notice;
  if (outcome.kind === 'recorded') {
    notice = recordedNotice(outcome.action, { what, username: outcome.as.username });
  } else if (outcome.kind === 'choose_rule') {
    notice = chooseRuleNotice(job.ref, outcome.rules, what);
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
      deploymentId: job.ref.deploymentId,
      action: job.action,
      outcome: outcome.kind,
      reason: outcome.kind === 'refused' ? outcome.reason : undefined,
    },
    'decision processed',
  );
  await tell(deps, job, notice);
  return outcome.kind === 'refused' ? outcome.reason : outcome.kind;
}

/** Who decided, for the person's notice: a Slack mention when known (ephemeral: nobody is notified). */
async function mention(deps: ProcessorDeps, user: GitLabUser): Promise<string> {
  const slack = await deps.sync.identity.slackUserFor(user).catch(() => null);
  return slack ? `<@${slack}>` : `${user.name.replace(/[<>&]/g, '')} (@${user.username})`;
}

export async function tell(
  deps: ProcessorDeps,
  job: Pick<DecisionJob, 'channel' | 'slackUser'>,
  notice: Notice,
): Promise<void> {
  // A click on the Home tab has no channel: addressed to the person's own id, the notice goes to their DM.
  await deps.producer.enqueueNotice({
    channel: job.channel ?? job.slackUser.userId,
    user: job.slackUser.userId,
    team: job.slackUser.teamId,
    notice,
  });
}

/**
 * Appends one decision attempt to the audit trail. A failed append is logged, not thrown: by then GitLab
 * may already have recorded the decision, and a retry must not record it twice.
 */
async function audit(
  deps: ProcessorDeps,
  log: Logger,
  job: DecisionJob,
  fields: Partial<AuditEntry> & Pick<AuditEntry, 'outcome'>,
): Promise<void> {
  const entry: AuditEntry = {
    at: new Date().toISOString(),
    team: job.slackUser.teamId,
    slackUser: job.slackUser.userId,
    gitlabUser: '',
    project: fields.project ?? (await projectPath(deps, job, { readGitLab: false })),
    deployment: String(job.ref.deploymentId),
    action: job.action,
    comment: job.comment ?? '',
    error: '',
    ...fields,
  };
  try {
    await deps.audit.append(entry);
  } catch (error) {
    log.error(
      {
        err: errorText(error),
        deploymentId: job.ref.deploymentId,
        slackUser: job.slackUser.userId,
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
async function projectPath(deps: ProcessorDeps, job: DecisionJob, opts: { readGitLab: boolean }): Promise<string> {
  const card = await deps.decide.cards.get(job.ref.deploymentId).catch(() => null);
  if (card && card.projectId === job.ref.projectId) return card.snapshot.project.path;
  if (opts.readGitLab) {
    const deployment = await deps.gitlab.getDeployment(job.ref).catch(() => null);
    if (deployment) return deployment.project.path;
  }
  return String(job.ref.projectId);
}

function errorText(error: unknown): string {
  if (isGreenlightError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export async function giveUpDecision(deps: ProcessorDeps, job: Job<DecisionJob>, error: unknown): Promise<void> {
  await audit(deps, deps.decide.logger, job.data, { outcome: 'gave_up', error: errorText(error) });
  const noun = job.data.action === 'approve' ? 'approval' : job.data.action === 'reject' ? 'rejection' : 'run request';
  await tell(deps, job.data, failureNotice(error, noun));
}

export async function processNotice(deps: ProcessorDeps, job: NoticeJob): Promise<void> {
  await deps.chat.postNotice(job.channel, job.user, job.notice, job.team);
}

export async function processNudge(deps: ProcessorDeps, job: NudgeJob, log: Logger): Promise<string> {
  if (!deps.nudges) return 'reminders not configured';
  const nudges = { ...deps.nudges, logger: log };
  if (job.kind === 'fire') return (await sendDueNudge(nudges, { ref: job.ref, seq: job.seq })).kind;
  const outcome = await snoozeNudges(nudges, {
    ref: job.ref,
    slackUserId: job.slackUserId,
    requestedAt: job.requestedAt,
    ...(job.teamId !== undefined && { teamId: job.teamId }),
  });
  if (outcome.kind === 'not-visible' && job.channel)
    await deps.producer.enqueueNotice({
      channel: job.channel,
      user: job.slackUserId,
      notice: refusalNotice('not_visible', { linkMode: deps.linkMode, command: deps.command }),
    });
  if (outcome.kind === 'not-waiting' && job.channel) {
    await deps.producer.enqueueNotice({
      channel: job.channel,
      user: job.slackUserId,
      notice: { tone: 'info', text: 'This deployment no longer waits for approval, so there is nothing to snooze.' },
    });
  }
  return outcome.kind;
}

/** A timer whose retries ran out skips its nudge (and plans the next); a snooze tells the person. */
export async function giveUpNudge(deps: ProcessorDeps, job: Job<NudgeJob>, log: Logger): Promise<void> {
  const data = job.data;
  if (data.kind === 'fire') {
    if (!deps.nudges) return;
    await sendDueNudge({ ...deps.nudges, logger: log }, { ref: data.ref, seq: data.seq }, { giveUp: true });
    return;
  }
  if (data.channel)
    await deps.producer.enqueueNotice({
      channel: data.channel,
      user: data.slackUserId,
      notice: {
        tone: 'error',
        text: 'greenlight could not snooze the reminders right now. Please click Snooze again.',
      },
    });
}
