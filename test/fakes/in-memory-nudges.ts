/** In-memory fakes of the reminder ports (src/core/reminders/ports.ts), recording every call. */
import type { MembershipPort } from '../../src/core/approvals/eligible-approvers.ts';
import type { ApprovalRule, GitLabUser } from '../../src/core/deployments/deployment.ts';
import type { MessageRef } from '../../src/core/ports.ts';
import type { NudgeState } from '../../src/core/reminders/nudge-plan.ts';
import type {
  EscalationMessage,
  NudgeChat,
  NudgeId,
  NudgeStore,
  NudgeTimer,
  ReminderMessage,
  SnoozeNote,
} from '../../src/core/reminders/ports.ts';

export class FakeNudgeStore implements NudgeStore {
  readonly states = new Map<number, NudgeState>();
  async get(id: number) {
    const s = this.states.get(id);
    return s ? structuredClone(s) : null;
  }
  async create(state: NudgeState) {
    if (this.states.has(state.deploymentId)) return false;
    this.states.set(state.deploymentId, structuredClone(state));
    return true;
  }
  async replace(expectedSeq: number, state: NudgeState) {
    const current = this.states.get(state.deploymentId);
    if (!current || current.seq !== expectedSeq) return false;
    this.states.set(state.deploymentId, structuredClone(state));
    return true;
  }
  async delete(id: number) {
    this.states.delete(id);
  }
}

export class FakeNudgeTimer implements NudgeTimer {
  /** armed timers by job id, like BullMQ's deterministic ids */
  readonly armed = new Map<string, { deploymentId: number; seq: number; at: number }>();
  readonly cancelled: string[] = [];
  async schedule(state: NudgeState) {
    if (!state.due) return;
    const id = `nudge-${state.deploymentId}-${state.seq}`;
    if (!this.armed.has(id)) this.armed.set(id, { deploymentId: state.deploymentId, seq: state.seq, at: state.due.at });
  }
  async cancel(deploymentId: number, seq: number) {
    const id = `nudge-${deploymentId}-${seq}`;
    this.cancelled.push(id);
    this.armed.delete(id);
  }
  /** The one armed timer of a deployment (and disarms it, as firing would). */
  take(deploymentId: number) {
    const entries = [...this.armed.entries()].filter(([, t]) => t.deploymentId === deploymentId);
    if (entries.length !== 1) throw new Error(`expected one armed timer for ${deploymentId}, found ${entries.length}`);
    this.armed.delete(entries[0]![0]);
    return entries[0]![1];
  }
}

type Post =
  | { kind: 'reminder'; card: MessageRef; message: ReminderMessage }
  | { kind: 'escalation'; channel: string; message: EscalationMessage }
  | { kind: 'snooze'; card: MessageRef; note: SnoozeNote };

export class FakeNudgeChat implements NudgeChat {
  readonly posts: Post[] = [];
  readonly lookups: Array<{ where: { channel: string; threadTs: string | null }; id: NudgeId }> = [];
  failNextPostWith: Error | null = null;
  /** Slack "has" these nudges (for the look-up after an unconfirmed post). */
  readonly inSlack = new Set<string>();
  #ts = 1_000;
  #fail() {
    const e = this.failNextPostWith;
    this.failNextPostWith = null;
    if (e) throw e;
  }
  async postReminder(card: MessageRef, message: ReminderMessage) {
    this.#fail();
    this.posts.push({ kind: 'reminder', card, message: structuredClone(message) });
    this.inSlack.add(`${message.id.deploymentId}:${message.id.seq}`);
    return { channel: card.channel, ts: `1759312345.${(this.#ts += 1)}` };
  }
  async postEscalation(channel: string, message: EscalationMessage) {
    this.#fail();
    this.posts.push({ kind: 'escalation', channel, message: structuredClone(message) });
    this.inSlack.add(`${message.id.deploymentId}:${message.id.seq}`);
    return { channel, ts: `1759312345.${(this.#ts += 1)}` };
  }
  async postSnoozeNote(card: MessageRef, note: SnoozeNote) {
    this.#fail();
    this.posts.push({ kind: 'snooze', card, note });
  }
  async findNudge(where: { channel: string; threadTs: string | null }, id: NudgeId) {
    this.lookups.push({ where, id });
    return this.inSlack.has(`${id.deploymentId}:${id.seq}`);
  }
  async cardLink(card: MessageRef) {
    return `https://acme.slack.com/archives/${card.channel}/p${card.ts.replace('.', '')}`;
  }
  of<K extends Post['kind']>(kind: K): Extract<Post, { kind: K }>[] {
    return this.posts.filter((p): p is Extract<Post, { kind: K }> => p.kind === kind);
  }
}

/** Rule members by rule name. */
export class FakeMembership implements MembershipPort {
  readonly members = new Map<string, GitLabUser[]>();
  failWith: Error | null = null;
  async ruleMembers(_projectId: number, rule: ApprovalRule) {
    if (this.failWith) throw this.failWith;
    return this.members.get(rule.name) ?? [];
  }
}
