import type { Job } from 'bullmq';
import { type DecideDeps } from '../../core/approvals/decide-deployment.ts';
import { giveUpClick, handleClick, type HandleClickDeps } from '../../core/approvals/handle-click.ts';
import { refusalNotice } from '../../core/approvals/notices.ts';
import { syncCard, type SyncCardDeps } from '../../core/cards/sync-card.ts';
import { handleWebhookEvent, type HandleWebhookDeps } from '../../core/intake/handle-webhook-event.ts';
import { scanProject } from '../../core/intake/scan-project.ts';
import { classifyProject, type ClassifyDeps } from '../../core/intake/classify-project.ts';
import { isGreenlightError } from '../../core/errors.ts';
import type { ChatPort, Clock, DeploymentRef, GitLabReader, Logger } from '../../core/ports.ts';
import { sendDueNudge } from '../../core/reminders/send-nudge.ts';
import { snoozeNudges } from '../../core/reminders/snooze-nudges.ts';
import { trackNudges, type NudgeDeps } from '../../core/reminders/track-nudges.ts';
import type {
  DecisionJob,
  NoticeJob,
  NudgeJob,
  Producer,
  ScanJob,
  SyncJob,
  WebhookJob,
} from '../../adapters/queue/queues.ts';

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
  projects: HandleWebhookDeps['projects'];
  linkMode: 'oauth' | 'sudo';
  command: string;
  clock: Clock;
  /** Every decision attempt is appended here, whatever its outcome. */
  audit: HandleClickDeps['audit'];
  /** Called after a card was posted or changed (DMs and Home tabs follow it). */
  onCardChanged?(ref: DeploymentRef): Promise<void>;
  /** Reminders and escalations (src/core/reminders); without them no reminder is scheduled. */
  nudges?: NudgeDeps;
  /**
   * The sweep's classification (which projects can have deployments waiting): classify jobs read protected
   * environments; hooks keep it current (note-hook.ts); sweep scans skip deployments with open cards.
   */
  sweep?: {
    classify: ClassifyDeps;
    hasOpenCard(deploymentId: number): Promise<boolean>;
    noteHook(projectId: number, hook: { blocked: boolean }): Promise<void>;
    forget(projectId: number): Promise<void>;
  };
};

/** What a delivery triggers: core/intake/handle-webhook-event.ts. */
export const processIntake = (deps: ProcessorDeps, job: WebhookJob, log: Logger) =>
  handleWebhookEvent(
    {
      gitlab: deps.gitlab,
      queue: deps.producer,
      projects: deps.projects,
      logger: log,
      ...(deps.sweep && { noteHook: deps.sweep.noteHook }),
    },
    job.event,
  );

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

const clickDeps = (deps: ProcessorDeps, log: Logger): HandleClickDeps => ({
  decide: deps.decide,
  gitlab: deps.gitlab,
  identity: deps.sync.identity,
  audit: deps.audit,
  notices: deps.producer,
  clock: deps.clock,
  linkMode: deps.linkMode,
  command: deps.command,
  logger: log,
});

/** A click: core/approvals/handle-click.ts (which also holds the decision window). */
export const processDecision = (
  deps: ProcessorDeps,
  job: DecisionJob,
  log: Logger,
  /** the job was started before (BullMQ's attemptsStarted): see Click.retried */
  { retried = false }: { retried?: boolean } = {},
) => handleClick(clickDeps(deps, log), { ...job, ...(retried && { retried }) });

export const giveUpDecision = (deps: ProcessorDeps, job: Job<DecisionJob>, error: unknown) =>
  giveUpClick(clickDeps(deps, deps.decide.logger), job.data, error);

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
