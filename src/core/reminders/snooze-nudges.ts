import type { DeploymentRef, IdentityResolution } from '../ports.ts';
import { canSee, viewerOf } from '../visibility/can-see.ts';
import { afterSnooze, type NudgeState } from './nudge-plan.ts';
import { routeOf, type NudgeDeps } from './track-nudges.ts';

/** `teamId`: the clicker's Slack team (their GitLab account counts for visibility only when it is known). */
export type SnoozeInput = { ref: DeploymentRef; slackUserId: string; requestedAt: number; teamId?: string };

export type SnoozeOutcome =
  | { kind: 'snoozed'; until: number; next: NudgeState['due'] }
  | { kind: 'not-waiting' }
  /** the clicker could not see this deployment (not in its channel, cannot read its project): nothing done */
  | { kind: 'not-visible' };

/**
 * "Snooze 1h" on a reminder: nothing is sent for this deployment for an hour from the click (the
 * clock then waits for working hours as usual). Noted in the card's thread with who snoozed; the card
 * shows the new time. A retry repeats the same snooze (it extends nothing) and notes it again at most.
 */
export async function snoozeNudges(
  deps: Omit<NudgeDeps, 'gitlab' | 'membership'>,
  input: SnoozeInput,
): Promise<SnoozeOutcome> {
  const first = await deps.cards.get(input.ref.deploymentId);
  if (first && first.projectId === input.ref.projectId) {
    const user = { teamId: input.teamId ?? '', userId: input.slackUserId };
    const resolution: IdentityResolution = input.teamId ? await deps.identity.resolve(user) : { kind: 'unlinked' };
    if (!(await canSee(deps, viewerOf(user, resolution), first))) return { kind: 'not-visible' };
  }
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const [state, record] = await Promise.all([
      deps.nudges.get(input.ref.deploymentId),
      deps.cards.get(input.ref.deploymentId),
    ]);
    if (!state || !record || record.ts === null || record.state !== 'waiting') return { kind: 'not-waiting' };
    const next = afterSnooze(state, routeOf(deps.policy, record.snapshot), input.slackUserId, input.requestedAt);
    if (!(await deps.nudges.replace(state.seq, next))) continue;
    await deps.timer.cancel(state.deploymentId, state.seq);
    await deps.timer.schedule(next);
    await deps.chat.postSnoozeNote(
      { channel: record.channel, ts: record.ts },
      { by: input.slackUserId, until: next.snoozedUntil!, next: next.due },
    );
    await deps.queue.requestSync(input.ref, 'reminders snoozed');
    deps.logger.info(
      { deploymentId: input.ref.deploymentId, by: input.slackUserId, until: next.snoozedUntil, next: next.due },
      'reminders snoozed',
    );
    return { kind: 'snoozed', until: next.snoozedUntil!, next: next.due };
  }
  throw new Error('the reminder schedule kept changing while snoozing');
}
