import type { MembershipPort } from '../approvals/eligible-approvers.ts';
import { allApprovals, classify, STATE_RANK, type CardState, type Deployment } from '../deployments/deployment.ts';
import { GreenlightError, isGreenlightError } from '../errors.ts';
import type { Policy, RoutePolicy } from '../policy.ts';
import { routeDeployment } from '../routing/route-deployment.ts';
import type {
  CardRecord,
  CardStore,
  ChatPort,
  Clock,
  DeploymentRef,
  GitLabReader,
  IdentityPort,
  LatestDeployment,
  LatestDeployments,
  Logger,
  WorkQueue,
} from '../ports.ts';
import { buildCardModel, cardFingerprint, type CardModel, type Person } from './card-model.ts';
import { changesForCard, settledChanges, type CardChangesDeps, type ChangesView } from './changes-summary.ts';
import { describeOpenRules } from './open-rules.ts';
import { resolveCommitAuthor } from '../approvals/resolve-commit-author.ts';

export type SyncCardDeps = {
  gitlab: GitLabReader;
  cards: CardStore;
  chat: ChatPort & { findCard?(channel: string, deploymentId: number, since: number): Promise<string | null> };
  identity: Pick<IdentityPort, 'slackUserFor'>;
  policy: Policy;
  clock: Clock;
  logger: Logger;
  /** Who can still approve each open rule (cards mention them). Without it, cards show only what is missing. */
  membership?: MembershipPort;
  /** Newest deployment per environment, and the queue that re-syncs the one a newer deployment supersedes. */
  supersede?: { latest: LatestDeployments; queue: WorkQueue };
  /**
   * When Redis last lost greenlight's data (src/adapters/redis/data-guard.ts): a deployment older than that may have
   * a card greenlight has no record of, which is looked for in Slack and adopted instead of posting a second one.
   */
  recovery?: { lostAt(): Promise<number | null> };
  /** When the next reminder or escalation is due, for the card (src/core/reminders); absent: not shown. */
  nudges?: {
    nextNudge(
      deployment: Deployment,
      route: RoutePolicy,
    ): Promise<{ at: number; kind: 'reminder' | 'escalation' } | null>;
  };
  /** What the deployment changes (GitLab reads, a store, the follow-up queue); absent: cards do not say. */
  changes?: CardChangesDeps;
};

/** A claim younger than this may belong to a post that is still under way (a stalled, not dead, worker). */
const POST_IN_FLIGHT_MS = 15_000;

export type SyncOutcome =
  | { kind: 'ignored'; state: CardState | null }
  | { kind: 'posted'; channel: string; ts: string }
  | { kind: 'updated'; state: CardState; version: number }
  | { kind: 'unchanged'; state: CardState }
  | { kind: 'stale'; state: CardState | null; current: CardState }
  | { kind: 'gone' }
  | { kind: 'raced' };

/**
 * Re-reads one deployment from GitLab and makes its card say exactly that: posts the card when the
 * deployment starts waiting for approval, updates it on every change, never moves it backwards.
 * Running it twice is harmless.
 */
export async function syncCard(deps: SyncCardDeps, ref: DeploymentRef): Promise<SyncOutcome> {
  // The record first: the environment it shows spares reading it again. GitLab's answer can only be newer than
  // the record (an update is a compare-and-set on the record's version; readBehind ignores an older read).
  const existing = await deps.cards.get(ref.deploymentId);
  const read = await deps.gitlab.getDeployment(
    ref,
    existing ? { environment: existing.snapshot.environment } : undefined,
  );
  if (!read) return existing ? { kind: 'gone' } : { kind: 'ignored', state: null };
  const classified = classify(read);
  // Lists of who can approve (the card, `/deploys mine`, DMs) must know the commit author as the decision does.
  const deployment = classified === 'waiting' ? await resolveCommitAuthor(deps, read, existing?.snapshot) : read;
  const supersededBy = await newerDeployment(deps, deployment, classified);
  const state: CardState | null = supersededBy ? 'superseded' : classified;

  if (!existing) {
    const adopted = state === null ? null : await adoptLostCard(deps, deployment, state, supersededBy);
    if (adopted) return adopted;
    if (state !== 'waiting') return { kind: 'ignored', state };
    return postCard(deps, deployment);
  }
  if (existing.ts === null) return recoverUnconfirmedPost(deps, existing, deployment, state, supersededBy);
  if (state === null || STATE_RANK[state] < STATE_RANK[existing.state] || readBehind(deployment, state, existing))
    return { kind: 'stale', state, current: existing.state };
  return updateCard(deps, existing, deployment, state, supersededBy);
}

/**
 * Within one state a card only moves forward too: GitLab never removes an approval, so a read with fewer
 * approvals than the card already shows is an older read (a lagging replica, a late job) and is ignored.
 */
function readBehind(deployment: Deployment, state: CardState, existing: CardRecord): boolean {
  return state === existing.state && allApprovals(deployment).length < allApprovals(existing.snapshot).length;
}

/**
 * A newer deployment to the same environment (same project) supersedes one that still waits for approval
 * or to be run. Whichever of the two is synced second notices: the newer one asks for the older one to be
 * synced again, and the older one, synced after the newer one is known, finds itself superseded. Both
 * checks are idempotent; the card change itself is an ordinary compare-and-set update.
 */
async function newerDeployment(
  deps: SyncCardDeps,
  d: Deployment,
  state: CardState | null,
): Promise<LatestDeployment | null> {
  if (!deps.supersede || state === null) return null;
  const { latest, queue } = deps.supersede;
  const noted = await latest.note(
    { projectId: d.project.id, environmentId: d.environment.id },
    { id: d.id, url: d.job?.webUrl ?? d.environment.webUrl },
  );
  if (noted.newest.id > d.id) return state === 'waiting' || state === 'approved' ? noted.newest : null;
  if (noted.previous !== null) {
    // Just replaced: the older card may still be on its way (its record not written yet), so always ask.
    // On a later sync of this deployment (or a retry after a crash), ask only while the older card is open.
    const older = noted.replaced ? null : await deps.cards.get(noted.previous);
    if (noted.replaced || (older && (older.state === 'waiting' || older.state === 'approved'))) {
      await queue.requestSync({ projectId: d.project.id, deploymentId: noted.previous }, `newer deployment ${d.id}`);
    }
  }
  return null;
}

async function render(
  deps: SyncCardDeps,
  deployment: Deployment,
  state: CardState,
  version: number,
  supersededBy?: LatestDeployment | null,
  shown?: ChangesView | null,
): Promise<{ model: CardModel; channel: string }> {
  const route = routeDeployment(deps.policy, {
    projectPath: deployment.project.path,
    environment: deployment.environment.name,
    tier: deployment.environment.tier,
  });
  const changes = changesFor(deps, deployment, state, route, shown);
  const people = async (user: { id: number; username: string; name: string }): Promise<Person> => ({
    name: user.name,
    username: user.username,
    slackUserId: await deps.identity.slackUserFor(user),
  });
  const openRules =
    state === 'waiting'
      ? await describeOpenRules(
          { ...(deps.membership && { membership: deps.membership }), policy: deps.policy, people, logger: deps.logger },
          deployment,
        )
      : [];
  const next = state === 'waiting' && deps.nudges ? await deps.nudges.nextNudge(deployment, route) : null;
  const model = await buildCardModel(deployment, {
    state,
    version,
    route,
    people,
    openRules,
    ...(supersededBy && { supersededBy }),
    ...(next && { nextNudgeAt: next.at, nextNudgeKind: next.kind }),
    changes: await changes,
  });
  // The config loader guarantees a default channel; a route may only override it.
  return { model, channel: route.channel ?? deps.policy.defaults.channel ?? '' };
}

/**
 * Read while the deployment waits for approval or to be run (started first, so that it runs beside the other
 * reads of the render), and on a re-sync brought up to date from what the card shows, reading only what may have
 * changed; afterwards the card keeps what it showed, without a freeze that no longer matters.
 */
function changesFor(
  deps: SyncCardDeps,
  deployment: Deployment,
  state: CardState,
  route: RoutePolicy,
  shown: ChangesView | null | undefined,
): Promise<ChangesView | null> {
  if (!deps.changes || route.changes === 'off') return Promise.resolve(null);
  if (state === 'waiting' || state === 'approved') return changesForCard(deps.changes, deployment, shown);
  return Promise.resolve(settledChanges(shown));
}

async function postCard(deps: SyncCardDeps, deployment: Deployment): Promise<SyncOutcome> {
  const { model, channel } = await render(deps, deployment, 'waiting', 1);
  const now = deps.clock.now();
  const claim: CardRecord = {
    deploymentId: deployment.id,
    projectId: deployment.project.id,
    channel,
    ts: null,
    version: 1,
    state: 'waiting',
    fingerprint: cardFingerprint(model),
    claimedAt: now,
    updatedAt: now,
    snapshot: deployment,
    openRules: clickRules(model),
    changes: model.changes,
  };
  // The claim is what makes a card unique per deployment, whoever else is syncing it.
  if (!(await deps.cards.create(claim))) return { kind: 'raced' };
  let posted;
  try {
    posted = await deps.chat.postCard(channel, model);
  } catch (error) {
    // Slack answered and said no (or slow down): nothing was posted, so the next attempt may post again.
    // Anything else (timeout, lost connection) may have posted: keep the claim; the retry looks first.
    if (isGreenlightError(error, 'slack_refused') || isGreenlightError(error, 'slack_rate_limited'))
      await deps.cards.delete(deployment.id);
    throw error;
  }
  await deps.cards.replace(1, { ...claim, channel: posted.channel, ts: posted.ts, updatedAt: deps.clock.now() });
  deps.logger.info({ deploymentId: deployment.id, channel: posted.channel, ts: posted.ts }, 'card posted');
  return { kind: 'posted', channel: posted.channel, ts: posted.ts };
}

/**
 * No record, but Redis lost its data after this deployment was created: its card may be in Slack already. Found
 * (by the deployment id in the card's metadata), it is adopted and brought up to date, whatever the state (a card
 * whose deployment was decided while the records were lost must not keep its buttons); not found, null.
 */
async function adoptLostCard(
  deps: SyncCardDeps,
  deployment: Deployment,
  state: CardState,
  supersededBy: LatestDeployment | null,
): Promise<SyncOutcome | null> {
  if (!deps.recovery || !deps.chat.findCard) return null;
  const lostAt = await deps.recovery.lostAt();
  const createdAt = Date.parse(deployment.createdAt);
  // lostAt is when the loss was noticed (at start, or up to a check interval after it happened), which also covers
  // a GitLab clock a little ahead of ours; deployments created after it have their records.
  if (lostAt === null || !(createdAt < lostAt)) return null;
  const { channel } = await render(deps, deployment, 'waiting', 1);
  const ts = await deps.chat.findCard(channel, deployment.id, Number.isFinite(createdAt) ? createdAt : lostAt);
  if (!ts) return null;
  const now = deps.clock.now();
  const record: CardRecord = {
    deploymentId: deployment.id,
    projectId: deployment.project.id,
    channel,
    ts,
    version: 1,
    state: 'waiting',
    // nothing rendered is known: the next render always differs, so the card is updated
    fingerprint: '',
    claimedAt: now,
    updatedAt: now,
    snapshot: deployment,
  };
  if (!(await deps.cards.create(record))) return { kind: 'raced' };
  deps.logger.warn({ deploymentId: deployment.id, channel, ts }, 'adopted a card whose record redis lost');
  return updateCard(deps, record, deployment, state, supersededBy);
}

/**
 * A claim without a ts: the process died between posting and saving. Adopt the card if Slack has it
 * (cards carry the deployment id in their metadata), otherwise post it now.
 */
async function recoverUnconfirmedPost(
  deps: SyncCardDeps,
  claim: CardRecord,
  deployment: Deployment,
  state: CardState | null,
  supersededBy: LatestDeployment | null,
): Promise<SyncOutcome> {
  // Look first: a card that is already in Slack can be adopted at once, however young the claim.
  const ts = deps.chat.findCard ? await deps.chat.findCard(claim.channel, claim.deploymentId, claim.claimedAt) : null;
  const age = deps.clock.now() - claim.claimedAt;
  if (!ts && age < POST_IN_FLIGHT_MS) {
    throw new GreenlightError('slack_unavailable', 'a card post for this deployment may still be in flight', {
      retryAfterMs: POST_IN_FLIGHT_MS - age,
    });
  }
  if (ts) {
    const adopted: CardRecord = { ...claim, ts, updatedAt: deps.clock.now() };
    if (!(await deps.cards.replace(claim.version, adopted))) return { kind: 'raced' };
    deps.logger.warn({ deploymentId: claim.deploymentId, ts }, 'adopted a card whose post was not confirmed');
    if (state === null) return { kind: 'stale', state, current: claim.state };
    return updateCard(deps, adopted, deployment, state, supersededBy);
  }
  await deps.cards.delete(claim.deploymentId);
  if (state !== 'waiting') return { kind: 'ignored', state };
  return postCard(deps, deployment);
}

async function updateCard(
  deps: SyncCardDeps,
  existing: CardRecord,
  deployment: Deployment,
  state: CardState,
  supersededBy: LatestDeployment | null,
): Promise<SyncOutcome> {
  const { model } = await render(deps, deployment, state, existing.version + 1, supersededBy, existing.changes);
  const fingerprint = cardFingerprint(model);
  if (fingerprint === existing.fingerprint) {
    if (existing.state !== state)
      await deps.cards.replace(existing.version, { ...existing, state, snapshot: deployment });
    return { kind: 'unchanged', state };
  }
  // Slack first, then the record: if we die in between, the next sync renders again (harmless).
  await deps.chat.updateCard({ channel: existing.channel, ts: existing.ts! }, model);
  const next: CardRecord = {
    ...existing,
    version: existing.version + 1,
    state,
    fingerprint,
    snapshot: deployment,
    openRules: clickRules(model),
    changes: model.changes,
    updatedAt: deps.clock.now(),
  };
  if (!(await deps.cards.replace(existing.version, next))) return { kind: 'raced' };
  deps.logger.info({ deploymentId: deployment.id, state, version: next.version }, 'card updated');
  return { kind: 'updated', state, version: next.version };
}

/** What a click needs to know without calling GitLab: per open rule, the Slack users who could approve for it. */
function clickRules(model: CardModel): NonNullable<CardRecord['openRules']> {
  return model.openRules.map((r) => ({
    name: r.name,
    slackUserIds: r.people.flatMap((p) => (p.slackUserId ? [p.slackUserId] : [])),
  }));
}
