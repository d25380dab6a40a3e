/** What reminders and escalations need from the outside world (Redis, BullMQ, Slack). */
import type { MessageRef } from '../ports.ts';
import type { NudgeKind, NudgeState } from './nudge-plan.ts';

/** One NudgeState per waiting deployment; every change is compare-and-set on `seq`. */
export interface NudgeStore {
  get(deploymentId: number): Promise<NudgeState | null>;
  /** Creates the state unless one exists; false when it already did. */
  create(state: NudgeState): Promise<boolean>;
  /** Replaces the state if its seq is still `expectedSeq`. */
  replace(expectedSeq: number, state: NudgeState): Promise<boolean>;
  delete(deploymentId: number): Promise<void>;
}

/** Durable timers: one delayed job per deployment and seq (deterministic id: adding it twice is harmless). */
export interface NudgeTimer {
  /** Arms the timer for `state.seq` at `state.due.at`; nothing when nothing is due. */
  schedule(state: NudgeState): Promise<void>;
  /** Disarms the timer of this seq (best effort: a job already running finds the state gone or newer). */
  cancel(deploymentId: number, seq: number): Promise<void>;
}

/** Who a reminder asks: the people of a rule greenlight can mention, or just the rule's name. */
export type Ask = { rule: string; missing: number; mentions: string[]; unlinked: number };

/** Identifies a nudge message in Slack (message metadata) so an unconfirmed post is never repeated. */
export type NudgeId = { deploymentId: number; seq: number };

export type ReminderMessage = {
  id: NudgeId;
  projectId: number;
  /** "acme/web → production" */
  what: string;
  waitedMs: number;
  number: number;
  max: number;
  asks: Ask[];
  openUrl: string;
  snoozeMs: number;
};

export type EscalationMessage = {
  id: NudgeId;
  what: string;
  waitedMs: number;
  /** 1-based */
  level: number;
  levels: number;
  mention: readonly string[];
  asks: Ask[];
  cardUrl: string | null;
  openUrl: string;
};

export type SnoozeNote = { by: string; until: number; next: { at: number; kind: NudgeKind } | null };

export interface NudgeChat {
  postReminder(card: MessageRef, message: ReminderMessage): Promise<MessageRef>;
  postEscalation(channel: string, message: EscalationMessage): Promise<MessageRef>;
  postSnoozeNote(card: MessageRef, note: SnoozeNote): Promise<void>;
  /** Whether this nudge is already in Slack: in the card's thread (`threadTs`) or the channel since `since`. */
  findNudge(where: { channel: string; threadTs: string | null }, id: NudgeId, since: number): Promise<boolean>;
  /** A link that opens the card; null when none can be made. */
  cardLink(card: MessageRef): Promise<string | null>;
}
