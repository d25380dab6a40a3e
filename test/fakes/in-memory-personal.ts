/** In-memory fakes of the ports behind the list, the Home tab and approvers' DMs (unit tests of the core). */
import type { MembershipPort } from '../../src/core/approvals/eligible-approvers.ts';
import type { ApprovalRule, Deployment, GitLabUser } from '../../src/core/deployments/deployment.ts';
import type { PendingIndex } from '../../src/core/pending/list-pending.ts';
import type { DmModel, DmRef, HomeModel, PersonalChat, PersonalStore } from '../../src/core/personal/ports.ts';
import type { CardRecord, MessageRef, SlackUser } from '../../src/core/ports.ts';

export function openCard(d: Deployment, over: Partial<CardRecord> = {}): CardRecord {
  return {
    deploymentId: d.id,
    projectId: d.project.id,
    channel: 'C1',
    ts: `1759312345.${String(d.id).padStart(6, '0')}`,
    version: 1,
    state: 'waiting',
    fingerprint: 'f',
    claimedAt: 0,
    updatedAt: 0,
    snapshot: d,
    ...over,
  };
}

export class FakePendingIndex implements PendingIndex {
  readonly records = new Map<number, CardRecord>();
  reads = 0;
  put(...records: CardRecord[]): void {
    for (const r of records) this.records.set(r.deploymentId, structuredClone(r));
  }
  async list(limit: number) {
    this.reads += 1;
    return [...this.records.values()]
      .sort((a, b) => Date.parse(b.snapshot.createdAt) - Date.parse(a.snapshot.createdAt))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }
  async get(id: number) {
    const r = this.records.get(id);
    return r ? structuredClone(r) : null;
  }
}

/** Rule membership: access-level rules by project members, group rules by group members. */
export class FakeMembership implements MembershipPort {
  readonly projectMembers = new Map<number, Array<GitLabUser & { level: number }>>();
  readonly groupMembers = new Map<number, GitLabUser[]>();
  readonly reads: string[] = [];
  failFor = new Set<number>();
  async ruleMembers(projectId: number, rule: ApprovalRule) {
    this.reads.push(`${projectId}:${rule.name}`);
    if (this.failFor.has(projectId)) throw new Error('GitLab unavailable');
    if (rule.groupId !== null) return this.groupMembers.get(rule.groupId) ?? [];
    if (rule.userId !== null) return (this.projectMembers.get(projectId) ?? []).filter((u) => u.id === rule.userId);
    return (this.projectMembers.get(projectId) ?? []).filter((u) => u.level >= (rule.accessLevel ?? 100));
  }
}

const key = (u: SlackUser) => `${u.teamId}:${u.userId}`;

export class FakePersonalStore implements PersonalStore {
  readonly dmOn = new Set<string>();
  readonly dmRefs = new Map<number, Map<string, DmRef | null>>();
  readonly opened = new Map<string, number>();
  async dmEnabled(user: SlackUser) {
    return this.dmOn.has(key(user));
  }
  async setDmEnabled(user: SlackUser, on: boolean) {
    if (on) this.dmOn.add(key(user));
    else this.dmOn.delete(key(user));
  }
  async dmSubscribers() {
    return [...this.dmOn].map((k) => ({ teamId: k.split(':')[0]!, userId: k.split(':')[1]! }));
  }
  async dms(deploymentId: number) {
    return [...(this.dmRefs.get(deploymentId) ?? new Map<string, DmRef | null>())].map(([k, ref]) => ({
      user: { teamId: k.split(':')[0]!, userId: k.split(':')[1]! },
      ref: ref ? { ...ref } : null,
    }));
  }
  async claimDm(deploymentId: number, user: SlackUser) {
    const refs = this.dmRefs.get(deploymentId) ?? new Map<string, DmRef | null>();
    this.dmRefs.set(deploymentId, refs);
    if (refs.has(key(user))) return false;
    refs.set(key(user), null);
    return true;
  }
  async saveDm(deploymentId: number, user: SlackUser, ref: DmRef) {
    const refs = this.dmRefs.get(deploymentId) ?? new Map<string, DmRef | null>();
    this.dmRefs.set(deploymentId, refs);
    refs.set(key(user), { ...ref });
  }
  async releaseDm(deploymentId: number, user: SlackUser) {
    this.dmRefs.get(deploymentId)?.delete(key(user));
  }
  async noteHomeOpened(user: SlackUser, at: number) {
    this.opened.set(key(user), at);
  }
  async homeAudience(since: number) {
    return [...this.opened]
      .filter(([, at]) => at >= since)
      .map(([k]) => ({ teamId: k.split(':')[0]!, userId: k.split(':')[1]! }));
  }
}

export class FakePersonalChat implements PersonalChat {
  readonly homes: Array<{ userId: string; home: HomeModel }> = [];
  readonly sent: Array<{ userId: string; dm: DmModel; ref: MessageRef }> = [];
  readonly updated: Array<{ ref: MessageRef; dm: DmModel }> = [];
  /** errors thrown by sendDm, per Slack user */
  readonly failSendFor = new Map<string, Error>();
  async publishHome(userId: string, home: HomeModel) {
    this.homes.push({ userId, home: structuredClone(home) });
  }
  async sendDm(userId: string, dm: DmModel) {
    const failure = this.failSendFor.get(userId);
    if (failure) throw failure;
    const ref = { channel: `D${userId.slice(1)}`, ts: `1759312400.${String(this.sent.length + 1).padStart(6, '0')}` };
    this.sent.push({ userId, dm: structuredClone(dm), ref });
    return ref;
  }
  async updateDm(ref: MessageRef, dm: DmModel) {
    this.updated.push({ ref, dm: structuredClone(dm) });
  }
}
