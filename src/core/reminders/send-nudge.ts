import { withKnownCommitAuthor } from '../approvals/resolve-commit-author.ts';
import { describeOpenRules } from '../cards/open-rules.ts';
import { classify, type CardState, type Deployment, type GitLabUser } from '../deployments/deployment.ts';
import { GreenlightError, isGreenlightError } from '../errors.ts';
import type { RoutePolicy } from '../policy.ts';
import type { Logger, MessageRef } from '../ports.ts';
import {
  afterNudge,
  planNext,
  replanned,
  SNOOZE_MS,
  type DueNudge,
  type NudgeKind,
  type NudgeState,
} from './nudge-plan.ts';
import type { Ask, EscalationMessage, NudgeId, ReminderMessage } from './ports.ts';
import { dropNudges, routeOf, type NudgeDeps } from './track-nudges.ts';

/** A timer may fire a little early (clocks of different machines): within this, the nudge is due. */
const EARLY_TOLERANCE_MS = 1_000;
/** Mentions per rule in one reminder; the rest are counted, not pinged. */
const MAX_MENTIONS = 15;

export type NudgeJobInput = { ref: { projectId: number; deploymentId: number }; seq: number };

export type NudgeOutcome =
  /** No schedule: the deployment stopped waiting before this timer fired. */
  | { kind: 'cancelled' }
  /** The schedule moved on (sent, snoozed, replanned); this timer is outdated. */
  | { kind: 'stale' }
  /** Re-read GitLab: the deployment no longer waits. Nothing sent; the schedule is dropped. */
  | { kind: 'resolved'; state: CardState | null }
  | { kind: 'rescheduled'; at: number | null }
  | { kind: 'sent'; nudge: NudgeKind; next: NudgeState['due'] }
  /** Slack refused for good (channel gone, thread deleted) or retries ran out: skipped, the next one is planned. */
  | { kind: 'skipped'; nudge: NudgeKind; reason: string }
  | { kind: 'raced' };

/**
 * Fires one timer: re-reads the deployment from GitLab, and if it still waits and the planned nudge is
 * due, posts it (a reminder in the card's thread, or an escalation in its level's channel), records it
 * and arms the next timer. A deployment that stopped waiting gets nothing. Never posts twice: the
 * state is compare-and-set per seq, and a post whose outcome is unknown is looked up in Slack first.
 * With `giveUp`, the due nudge is recorded as skipped without posting (its retries ran out).
 */
export async function sendDueNudge(
  deps: NudgeDeps,
  job: NudgeJobInput,
  opts: { giveUp?: boolean } = {},
): Promise<NudgeOutcome> {
  const { ref } = job;
  const log = deps.logger.child({ deploymentId: ref.deploymentId, seq: job.seq });
  const state = await deps.nudges.get(ref.deploymentId);
  if (!state) return { kind: 'cancelled' };
  if (state.seq !== job.seq) {
    await deps.timer.schedule(state);
    return { kind: 'stale' };
  }

  const read = await deps.gitlab.getDeployment(ref);
  const current = read ? classify(read) : null;
  const record = await deps.cards.get(ref.deploymentId);
  // The commit author's GitLab account as the card's sync looked it up: reminders mention whom the card names.
  const deployment = read && withKnownCommitAuthor(read, record?.snapshot);
  if (!deployment || current !== 'waiting' || !record || record.state !== 'waiting') {
    await dropNudges(deps, state);
    if (deployment && current !== 'waiting')
      await deps.queue.requestSync(ref, 'a reminder found the deployment resolved');
    log.info({ state: current }, 'reminder not sent: the deployment no longer waits');
    return { kind: 'resolved', state: current };
  }
  if (record.ts === null)
    throw new GreenlightError('slack_unavailable', 'the card post is not confirmed yet', { retryAfterMs: 15_000 });
  const card: MessageRef = { channel: record.channel, ts: record.ts };

  const route = routeOf(deps.policy, deployment);
  const now = deps.clock.now();
  const due = planNext(route, state);
  if (!due || due.at > now + EARLY_TOLERANCE_MS) return reschedule(deps, state, route);

  if (opts.giveUp) {
    log.warn({ nudge: due.kind }, 'reminder given up after its retries; the next one is planned');
    return advance(deps, state, route, due, now, { kind: 'skipped', nudge: due.kind, reason: 'retries exhausted' });
  }

  const id: NudgeId = { deploymentId: ref.deploymentId, seq: state.seq };
  const where =
    due.kind === 'reminder'
      ? { channel: card.channel, threadTs: card.ts }
      : { channel: route.escalation[due.level]!.channel, threadTs: null };
  // An earlier attempt may have posted and died before recording it: look before posting again.
  const alreadyPosted =
    state.posting?.seq === state.seq && (await deps.chat.findNudge(where, id, state.posting.at - 60_000));
  if (!alreadyPosted) {
    const message = await compose(deps, deployment, route, state, due, card, now, log);
    if (!(await deps.nudges.replace(state.seq, { ...state, posting: { seq: state.seq, at: now } })))
      return { kind: 'raced' };
    try {
      if (message.kind === 'reminder') await deps.chat.postReminder(card, message.message);
      else await deps.chat.postEscalation(message.channel, message.message);
    } catch (error) {
      // Slack said "not now" before posting anything: the retry needs no look-up.
      if (isGreenlightError(error, 'slack_rate_limited'))
        await deps.nudges.replace(state.seq, { ...state, posting: null });
      if (isGreenlightError(error) && !error.retryable) {
        log.error(
          { nudge: due.kind, channel: where.channel, code: error.code, detail: error.detail },
          'reminder could not be posted; skipped',
        );
        return advance(deps, state, route, due, now, {
          kind: 'skipped',
          nudge: due.kind,
          reason: error.detail ?? error.code,
        });
      }
      throw error;
    }
  } else {
    log.warn({ nudge: due.kind }, 'found an unconfirmed reminder in Slack; not posting it again');
  }
  const outcome = await advance(deps, state, route, due, now, null);
  if (outcome.kind === 'sent')
    log.info(
      { nudge: due.kind, channel: where.channel, next: outcome.next },
      due.kind === 'reminder' ? 'reminder sent' : 'escalation sent',
    );
  return outcome;
}

type Composed =
  { kind: 'reminder'; message: ReminderMessage } | { kind: 'escalation'; channel: string; message: EscalationMessage };

async function compose(
  deps: NudgeDeps,
  deployment: Deployment,
  route: RoutePolicy,
  state: NudgeState,
  due: DueNudge,
  card: MessageRef,
  now: number,
  log: Logger,
): Promise<Composed> {
  const what = `${deployment.project.path} → ${deployment.environment.name}`;
  const openUrl = deployment.job?.webUrl ?? deployment.environment.webUrl;
  const id = { deploymentId: deployment.id, seq: state.seq };
  const asks = await asksFor(deps, deployment, log);
  const waitedMs = Math.max(0, now - state.anchor);
  if (due.kind === 'reminder') {
    return {
      kind: 'reminder',
      message: {
        id,
        projectId: deployment.project.id,
        what,
        waitedMs,
        number: due.number,
        max: route.reminders?.max ?? due.number,
        asks,
        openUrl,
        snoozeMs: SNOOZE_MS,
      },
    };
  }
  const level = route.escalation[due.level]!;
  const cardUrl = await deps.chat.cardLink(card).catch(() => null);
  return {
    kind: 'escalation',
    channel: level.channel,
    message: {
      id,
      what,
      waitedMs,
      level: due.level + 1,
      levels: route.escalation.length,
      mention: level.mention,
      asks,
      cardUrl,
      openUrl,
    },
  };
}

/**
 * For every rule that still needs approvals: the people greenlight can mention, or just the rule (the same
 * reading as the card's, src/core/cards/open-rules.ts: a rule whose members cannot be read is named).
 */
async function asksFor(deps: NudgeDeps, deployment: Deployment, log: Logger): Promise<Ask[]> {
  const people = async (user: GitLabUser) => ({
    name: user.name,
    username: user.username,
    slackUserId: await deps.identity.slackUserFor(user),
  });
  const open = await describeOpenRules(
    { membership: deps.membership, policy: deps.policy, people, logger: log },
    deployment,
  );
  return open.map((rule) => {
    const mentions = [...new Set(rule.people.flatMap((p) => (p.slackUserId ? [p.slackUserId] : [])))].slice(
      0,
      MAX_MENTIONS,
    );
    return {
      rule: rule.name,
      missing: rule.missing,
      mentions,
      unlinked: rule.people.length + rule.more - mentions.length,
    };
  });
}

async function advance(
  deps: NudgeDeps,
  state: NudgeState,
  route: RoutePolicy,
  due: DueNudge,
  now: number,
  skipped: NudgeOutcome | null,
): Promise<NudgeOutcome> {
  const next = afterNudge(state, route, due, now);
  if (!(await deps.nudges.replace(state.seq, next))) return { kind: 'raced' };
  await deps.timer.schedule(next);
  await deps.queue.requestSync(
    { projectId: state.projectId, deploymentId: state.deploymentId },
    `${due.kind} ${skipped ? 'skipped' : 'sent'}`,
  );
  return skipped ?? { kind: 'sent', nudge: due.kind, next: next.due };
}

async function reschedule(deps: NudgeDeps, state: NudgeState, route: RoutePolicy): Promise<NudgeOutcome> {
  const next = replanned(state, route);
  if (!(await deps.nudges.replace(state.seq, next))) return { kind: 'raced' };
  await deps.timer.schedule(next);
  if (next.due?.at !== state.due?.at)
    await deps.queue.requestSync(
      { projectId: state.projectId, deploymentId: state.deploymentId },
      'reminders replanned',
    );
  return { kind: 'rescheduled', at: next.due?.at ?? null };
}
