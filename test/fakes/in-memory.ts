/**
 * In-memory fakes of the core's ports, for unit tests of the core. They record every call so tests
 * can assert on outgoing calls, and they fail loudly on anything unexpected.
 */
import type { VisibilityPort } from '../../src/core/visibility/can-see.ts';
import type { MembershipPort } from '../../src/core/approvals/eligible-approvers.ts';
import type { CardModel } from '../../src/core/cards/card-model.ts';
import type { ApprovalRule, Deployment, GitLabUser } from '../../src/core/deployments/deployment.ts';
import type { Notice } from '../../src/core/approvals/notices.ts';
import type {
  CardRecord,
  CardStore,
  ChatPort,
  Clock,
  DeploymentRef,
  GitLabActor,
  GitLabReader,
  Identity,
  IdentityPort,
  IdentityResolution,
  LatestDeployment,
  LatestDeployments,
  Logger,
  MessageRef,
  SlackUser,
  WorkQueue,
} from '../../src/core/ports.ts';

export class FakeGitLabReader implements GitLabReader {
  readonly deployments = new Map<number, Deployment>();
  readonly calls: string[] = [];
  readonly users: GitLabUser[] = [];
  failWith: Error | null = null;

  put(d: Deployment): void {
    this.deployments.set(d.id, structuredClone(d));
  }
  async getDeployment(ref: DeploymentRef) {
    this.calls.push(`getDeployment ${ref.deploymentId}`);
    if (this.failWith) throw this.failWith;
    const d = this.deployments.get(ref.deploymentId);
    return d && d.project.id === ref.projectId ? structuredClone(d) : null;
  }
  async listBlockedDeployments(projectId: number | string, opts: { environment?: string } = {}) {
    this.calls.push(`listBlocked ${projectId} ${opts.environment ?? '*'}`);
    return [...this.deployments.values()]
      .filter(
        (d) =>
          (d.project.id === projectId || d.project.path === projectId) &&
          d.status === 'blocked' &&
          (opts.environment === undefined || d.environment.name === opts.environment),
      )
      .map((d) => ({ id: d.id, projectId: d.project.id, environment: d.environment.name }));
  }
  async findDeployment(
    projectId: number,
    hint: { environment: string; deployableId: number | null; shortSha: string | null },
  ) {
    this.calls.push(`findDeployment ${projectId} ${hint.environment} ${hint.deployableId ?? hint.shortSha}`);
    const found = [...this.deployments.values()]
      .filter((d) => d.project.id === projectId && d.environment.name === hint.environment)
      .sort((a, b) => b.id - a.id)
      .find((d) =>
        hint.deployableId !== null ? d.job?.id === hint.deployableId : !d.job && d.sha.startsWith(hint.shortSha ?? '-'),
      );
    return found?.id ?? null;
  }
  async findUserByUsername(username: string) {
    this.calls.push(`findUserByUsername ${username}`);
    return this.users.find((u) => u.username === username) ?? null;
  }
  async findUserByEmail(email: string) {
    this.calls.push(`findUserByEmail ${email}`);
    return null;
  }
}

export class FakeCardStore implements CardStore {
  readonly records = new Map<number, CardRecord>();
  async get(id: number) {
    const r = this.records.get(id);
    return r ? structuredClone(r) : null;
  }
  async create(record: CardRecord) {
    if (this.records.has(record.deploymentId)) return false;
    this.records.set(record.deploymentId, structuredClone(record));
    return true;
  }
  async replace(expected: number, record: CardRecord) {
    const current = this.records.get(record.deploymentId);
    if (!current || current.version !== expected) return false;
    this.records.set(record.deploymentId, structuredClone(record));
    return true;
  }
  async delete(id: number) {
    this.records.delete(id);
  }
}

export class FakeChat implements ChatPort {
  readonly posts: Array<{ channel: string; card: CardModel; ts: string }> = [];
  readonly updates: Array<{ ref: MessageRef; card: CardModel }> = [];
  readonly notices: Array<{ channel: string; user: string; notice: Notice }> = [];
  readonly history = new Map<string, number>();
  failPostWith: Error | null = null;
  #ts = 1_759_312_345_000_200;

  async postCard(channel: string, card: CardModel) {
    if (this.failPostWith) throw this.failPostWith;
    const ts = `${Math.floor(this.#ts / 1e6)}.${String(this.#ts % 1e6).padStart(6, '0')}`;
    this.#ts += 100;
    this.posts.push({ channel, card: structuredClone(card), ts });
    this.history.set(`${channel}:${card.deploymentId}`, this.posts.length - 1);
    return { channel, ts };
  }
  async updateCard(ref: MessageRef, card: CardModel) {
    this.updates.push({ ref, card: structuredClone(card) });
  }
  async postNotice(channel: string, user: string, notice: Notice) {
    this.notices.push({ channel, user, notice });
  }
  async findCard(channel: string, deploymentId: number) {
    const index = this.history.get(`${channel}:${deploymentId}`);
    return index === undefined ? null : this.posts[index]!.ts;
  }
  lastCard(): CardModel | undefined {
    return this.updates.at(-1)?.card ?? this.posts.at(-1)?.card;
  }
}

export class FakeActor implements GitLabActor {
  readonly calls: Array<{ kind: 'decision' | 'play'; ref?: DeploymentRef; input?: unknown; jobId?: number }> = [];
  failWith: Error | null = null;
  readonly user: GitLabUser;
  constructor(user: GitLabUser) {
    this.user = user;
  }
  async recordDecision(ref: DeploymentRef, input: { status: 'approved' | 'rejected'; comment?: string }) {
    this.calls.push({ kind: 'decision', ref, input });
    if (this.failWith) throw this.failWith;
  }
  async playJob(_projectId: number, jobId: number) {
    this.calls.push({ kind: 'play', jobId });
    if (this.failWith) throw this.failWith;
  }
}

export class FakeIdentity implements IdentityPort {
  readonly linkHint = 'sudo' as const;
  readonly links = new Map<string, IdentityResolution>();
  readonly actors = new Map<number, FakeActor>();
  link(slackUserId: string, gitlab: GitLabUser, via: Identity['via'] = 'policy', emails: string[] = []): FakeActor {
    this.links.set(slackUserId, { kind: 'linked', identity: { gitlab, via, emails } });
    const actor = new FakeActor(gitlab);
    this.actors.set(gitlab.id, actor);
    return actor;
  }
  async resolve(user: SlackUser) {
    return this.links.get(user.userId) ?? { kind: 'unlinked' as const };
  }
  async actorFor(identity: Identity) {
    const actor = this.actors.get(identity.gitlab.id);
    if (!actor) throw new Error(`no fake actor for ${identity.gitlab.username}`);
    return actor;
  }
  async slackUserFor(user: GitLabUser) {
    for (const [slack, r] of this.links) if (r.kind === 'linked' && r.identity.gitlab.id === user.id) return slack;
    return null;
  }
}

/** Rule members by rule name; a rule listed in `failing` cannot be read. */
export class FakeMembership implements MembershipPort {
  readonly members = new Map<string, GitLabUser[]>();
  readonly failing = new Set<string>();
  readonly calls: string[] = [];
  set(ruleName: string, users: GitLabUser[]): this {
    this.members.set(ruleName, users);
    return this;
  }
  async ruleMembers(_projectId: number, rule: ApprovalRule) {
    this.calls.push(rule.name);
    if (this.failing.has(rule.name)) throw new Error(`members of ${rule.name} unreadable`);
    return structuredClone(this.members.get(rule.name) ?? []);
  }
}

export class FakeLatestDeployments implements LatestDeployments {
  readonly newest = new Map<string, LatestDeployment & { previous: number | null }>();
  async note(env: { projectId: number; environmentId: number }, candidate: LatestDeployment) {
    const key = `${env.projectId}:${env.environmentId}`;
    const current = this.newest.get(key);
    const replaced = !current || candidate.id > current.id;
    if (replaced) this.newest.set(key, { ...candidate, previous: current?.id ?? null });
    const now = this.newest.get(key)!;
    return { newest: { id: now.id, url: now.url }, replaced, previous: now.previous };
  }
}

export class FakeQueue implements WorkQueue {
  readonly syncs: Array<DeploymentRef & { reason: string }> = [];
  async requestSync(ref: DeploymentRef, reason: string) {
    this.syncs.push({ ...ref, reason });
  }
}

export class FakeClock implements Clock {
  ms: number;
  constructor(ms = Date.parse('2026-11-23T10:00:00Z')) {
    this.ms = ms;
  }
  now() {
    return this.ms;
  }
  advance(ms: number) {
    this.ms += ms;
  }
}

export type LogLine = { level: string; msg: string; [key: string]: unknown };

export class CapturingLogger implements Logger {
  readonly lines: LogLine[];
  readonly bindings: object;
  constructor(lines: LogLine[] = [], bindings: object = {}) {
    this.lines = lines;
    this.bindings = bindings;
  }
  #push(level: string, obj: object, msg: string) {
    this.lines.push({ ...this.bindings, ...obj, level, msg });
  }
  debug(obj: object, msg: string) {
    this.#push('debug', obj, msg);
  }
  info(obj: object, msg: string) {
    this.#push('info', obj, msg);
  }
  warn(obj: object, msg: string) {
    this.#push('warn', obj, msg);
  }
  error(obj: object, msg: string) {
    this.#push('error', obj, msg);
  }
  child(bindings: object): Logger {
    return new CapturingLogger(this.lines, { ...this.bindings, ...bindings });
  }
}

/**
 * Who could see what (src/core/visibility). Everyone sees everything unless a test says otherwise: `members`
 * of a channel, `readers` of a project (GitLab user ids); once either is set for a channel or project, only
 * those count. `fail` makes every check throw (Slack or GitLab unavailable).
 */
export class FakeVisibility implements VisibilityPort {
  readonly members = new Map<string, Set<string>>();
  readonly readers = new Map<number, Set<number>>();
  fail = false;
  async inChannel(channel: string, slackUserId: string): Promise<boolean> {
    if (this.fail) throw new Error('conversations.members failed');
    const members = this.members.get(channel);
    return members ? members.has(slackUserId) : true;
  }
  async canReadProject(projectId: number, gitlabUserId: number): Promise<boolean> {
    if (this.fail) throw new Error('GitLab unavailable');
    const readers = this.readers.get(projectId);
    return readers ? readers.has(gitlabUserId) : true;
  }
}
