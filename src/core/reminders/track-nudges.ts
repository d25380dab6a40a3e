import type { MembershipPort } from '../approvals/eligible-approvers.ts';
import type { Deployment } from '../deployments/deployment.ts';
import type { Policy, RoutePolicy } from '../policy.ts';
import type { CardStore, Clock, DeploymentRef, GitLabReader, IdentityPort, Logger, WorkQueue } from '../ports.ts';
import { routeDeployment } from '../routing/route-deployment.ts';
import { initialNudgeState, planNext, type NudgeKind, type NudgeState } from './nudge-plan.ts';
import type { NudgeChat, NudgeStore, NudgeTimer } from './ports.ts';
import type { VisibilityPort } from '../visibility/can-see.ts';

export type NudgeDeps = {
  gitlab: Pick<GitLabReader, 'getDeployment'>;
  cards: Pick<CardStore, 'get'>;
  nudges: NudgeStore;
  timer: NudgeTimer;
  chat: NudgeChat;
  identity: Pick<IdentityPort, 'slackUserFor' | 'resolve'>;
  membership: MembershipPort;
  /** who could see a deployment anyway (src/core/visibility): only they may snooze its reminders */
  visibility: VisibilityPort;
  queue: WorkQueue;
  policy: Policy;
  clock: Clock;
  logger: Logger;
};

export function routeOf(policy: Policy, deployment: Deployment): RoutePolicy {
  return routeDeployment(policy, {
    projectPath: deployment.project.path,
    environment: deployment.environment.name,
    tier: deployment.environment.tier,
  });
}

/** Forgets the schedule and disarms its timer: nothing more is sent for this deployment. */
export async function dropNudges(deps: Pick<NudgeDeps, 'nudges' | 'timer'>, state: NudgeState): Promise<void> {
  await deps.nudges.delete(state.deploymentId);
  await deps.timer.cancel(state.deploymentId, state.seq);
}

export type TrackOutcome = 'started' | 'kept' | 'cancelled' | 'none';

/**
 * Called after every sync of a deployment: a posted card that waits gets a schedule (once); a card that
 * stopped waiting (approved, rejected, canceled, running, superseded) or a deployment that is gone loses
 * it at once. Re-arms the timer of an existing schedule, which repairs a timer lost between writing the
 * state and adding its job. Running it twice is harmless.
 */
export async function trackNudges(
  deps: Pick<NudgeDeps, 'cards' | 'nudges' | 'timer' | 'policy' | 'clock' | 'logger'>,
  ref: DeploymentRef,
  opts: { gone?: boolean } = {},
): Promise<TrackOutcome> {
  const [record, state] = await Promise.all([deps.cards.get(ref.deploymentId), deps.nudges.get(ref.deploymentId)]);
  if (opts.gone || !record || record.state !== 'waiting') {
    if (!state) return 'none';
    await dropNudges(deps, state);
    deps.logger.info(
      { deploymentId: ref.deploymentId, state: record?.state ?? 'gone' },
      'reminders cancelled: the deployment stopped waiting',
    );
    return 'cancelled';
  }
  // The card post is still under way: its thread does not exist yet.
  if (record.ts === null) return 'none';
  if (state) {
    await deps.timer.schedule(state);
    return 'kept';
  }
  const fresh = initialNudgeState(record.snapshot, routeOf(deps.policy, record.snapshot), deps.clock.now());
  if (!fresh.due) return 'none';
  if (!(await deps.nudges.create(fresh))) return 'kept';
  await deps.timer.schedule(fresh);
  deps.logger.info(
    { deploymentId: ref.deploymentId, dueAt: fresh.due.at, kind: fresh.due.kind },
    'reminders scheduled',
  );
  return 'started';
}

/** What the card shows as its next reminder or escalation (before the schedule exists: as it will be). */
export async function nextNudgeFor(
  deps: { nudges: Pick<NudgeStore, 'get'>; clock: Clock },
  deployment: Deployment,
  route: RoutePolicy,
): Promise<{ at: number; kind: NudgeKind } | null> {
  const state = (await deps.nudges.get(deployment.id)) ?? initialNudgeState(deployment, route, deps.clock.now());
  const next = planNext(route, state);
  return next ? { at: next.at, kind: next.kind } : null;
}
