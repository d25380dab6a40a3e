/**
 * When a waiting deployment is nudged next: reminders in the card's thread and escalation levels in
 * their channels, on a clock that starts when the deployment started waiting and only runs inside
 * working hours. Pure: the state lives in Redis (adapters/redis/nudge-store.ts), the timer in BullMQ.
 */
import type { Deployment } from '../deployments/deployment.ts';
import type { RoutePolicy } from '../policy.ts';
import { addWorkingTime } from './working-hours.ts';

export type NudgeKind = 'reminder' | 'escalation';

/** What has been sent for one waiting deployment, and what comes next. */
export type NudgeState = {
  deploymentId: number;
  projectId: number;
  /** When the clock started: the deployment's created_at (epoch ms). */
  anchor: number;
  /** Bumped on every change; the delayed job for this state carries it (older jobs find a newer state and stop). */
  seq: number;
  remindersSent: number;
  lastReminderAt: number | null;
  escalationsSent: number;
  /** Nothing is sent before this (a "Snooze 1h" click). */
  snoozedUntil: number | null;
  /** Slack user id of who snoozed last. */
  snoozedBy: string | null;
  /** The next nudge as planned when this state was written; null: nothing more to send. */
  due: { at: number; kind: NudgeKind } | null;
  /** Set just before a post to Slack: a retry of an unconfirmed post looks in Slack before posting again. */
  posting: { seq: number; at: number } | null;
};

export type DueNudge =
  { kind: 'reminder'; at: number; number: number } | { kind: 'escalation'; at: number; level: number };

export type NudgePolicy = Pick<RoutePolicy, 'reminders' | 'escalation' | 'workingHours'>;

/** How long "Snooze 1h" delays the next nudge. */
export const SNOOZE_MS = 3_600_000;

export function initialNudgeState(deployment: Deployment, policy: NudgePolicy, now: number): NudgeState {
  const created = Date.parse(deployment.createdAt);
  const state: NudgeState = {
    deploymentId: deployment.id,
    projectId: deployment.project.id,
    anchor: Number.isFinite(created) ? created : now,
    seq: 0,
    remindersSent: 0,
    lastReminderAt: null,
    escalationsSent: 0,
    snoozedUntil: null,
    snoozedBy: null,
    due: null,
    posting: null,
  };
  return withDue(state, policy);
}

/**
 * The next nudge: the earlier of the next reminder (the first `after` working time since waiting began,
 * then `every` since the previous one, at most `max`) and the next escalation level (`after` working time
 * since waiting began, levels in order); never before a snooze ends or outside working hours.
 * On a tie the reminder goes first, so an escalation can point at a card whose thread is current.
 */
export function planNext(policy: NudgePolicy, state: NudgeState): DueNudge | null {
  const hours = policy.workingHours;
  const gate = state.snoozedUntil === null ? null : addWorkingTime(state.snoozedUntil, 0, hours);
  const notBeforeGate = (at: number) => (gate === null ? at : Math.max(at, gate));
  let reminder: DueNudge | null = null;
  const r = policy.reminders;
  if (r && state.remindersSent < r.max) {
    const at =
      state.remindersSent === 0 || state.lastReminderAt === null
        ? addWorkingTime(state.anchor, r.afterMs, hours)
        : addWorkingTime(state.lastReminderAt, r.everyMs, hours);
    reminder = { kind: 'reminder', at: notBeforeGate(at), number: state.remindersSent + 1 };
  }
  let escalation: DueNudge | null = null;
  const level = policy.escalation[state.escalationsSent];
  if (level)
    escalation = {
      kind: 'escalation',
      at: notBeforeGate(addWorkingTime(state.anchor, level.afterMs, hours)),
      level: state.escalationsSent,
    };
  if (reminder && escalation) return escalation.at < reminder.at ? escalation : reminder;
  return reminder ?? escalation;
}

function withDue(state: NudgeState, policy: NudgePolicy): NudgeState {
  const next = planNext(policy, state);
  return { ...state, due: next ? { at: next.at, kind: next.kind } : null };
}

/** The state after `nudge` was posted (or given up) at `now`. */
export function afterNudge(state: NudgeState, policy: NudgePolicy, nudge: DueNudge, now: number): NudgeState {
  const next: NudgeState =
    nudge.kind === 'reminder'
      ? { ...state, remindersSent: state.remindersSent + 1, lastReminderAt: now }
      : { ...state, escalationsSent: state.escalationsSent + 1 };
  return withDue({ ...next, seq: state.seq + 1, posting: null }, policy);
}

/** The state after someone snoozed at `now`: nothing is sent for SNOOZE_MS (longer snoozes are kept). */
export function afterSnooze(state: NudgeState, policy: NudgePolicy, by: string, now: number): NudgeState {
  const until = Math.max(state.snoozedUntil ?? 0, now + SNOOZE_MS);
  return withDue({ ...state, snoozedUntil: until, snoozedBy: by, seq: state.seq + 1 }, policy);
}

/** The same state, planned again (the policy changed, or the job woke up early): a new seq, a new job. */
export function replanned(state: NudgeState, policy: NudgePolicy): NudgeState {
  return withDue({ ...state, seq: state.seq + 1, posting: null }, policy);
}
