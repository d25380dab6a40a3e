import type { MembershipPort } from '../approvals/eligible-approvers.ts';
import { approverOf } from '../approvals/may-approve.ts';
import type { Policy } from '../policy.ts';
import { isGreenlightError } from '../errors.ts';
import { waitingFor } from '../pending/waiting-for.ts';
import type { CardRecord, CardStore, IdentityPort, Logger, SlackUser } from '../ports.ts';
import { mapLimit } from '../../lib/map-limit.ts';
import { dmFingerprint, dmModel } from './dm-model.ts';
import { canSee, viewerOf, type VisibilityPort } from '../visibility/can-see.ts';
import type { PersonalChat, PersonalStore } from './ports.ts';

export type NotifyDeps = {
  cards: Pick<CardStore, 'get'>;
  store: PersonalStore;
  chat: PersonalChat;
  identity: Pick<IdentityPort, 'resolve'>;
  membership: MembershipPort;
  /** the four-eyes rule (mayApprove): nobody it refuses is sent a DM */
  policy: Pick<Policy, 'fourEyes'>;
  /** who could see a deployment anyway (src/core/visibility): DMs go only to them */
  visibility: VisibilityPort;
  logger: Logger;
};

const SENDS_IN_FLIGHT = 4;

const userKey = (u: SlackUser) => `${u.teamId}:${u.userId}`;
const retryable = (error: unknown) => (isGreenlightError(error) ? error.retryable : true);

/**
 * After a deployment changed: brings every DM about it up to date, and while it waits, DMs each person who
 * turned DMs on and could approve it now (once per person and deployment). A failure for one person does
 * not stop the others; a retryable one fails the job afterwards so that it runs again (harmless: sent DMs
 * are remembered, unchanged ones are not touched).
 */
export async function notifyApprovers(
  deps: NotifyDeps,
  deploymentId: number,
): Promise<{ sent: number; updated: number }> {
  const record = await deps.cards.get(deploymentId);
  if (!record) return { sent: 0, updated: 0 };
  const existing = await deps.store.dms(deploymentId);
  const failures: unknown[] = [];

  const updates = await mapLimit(existing, SENDS_IN_FLIGHT, async ({ user, ref }) => {
    // A claim without a ref may or may not have been posted: never post it twice, nothing to update.
    if (!ref) return false;
    const dm = await dmModel(deps, record, { id: ref.gitlabUserId });
    const fingerprint = dmFingerprint(dm);
    if (fingerprint === ref.fingerprint) return false;
    try {
      await deps.chat.updateDm(ref, dm);
      await deps.store.saveDm(deploymentId, user, { ...ref, fingerprint });
      return true;
    } catch (error) {
      failures.push(error);
      deps.logger.warn({ deploymentId, slackUser: user.userId, err: (error as Error).message }, 'DM not updated');
      return false;
    }
  });

  let sent = 0;
  if (record.state === 'waiting') {
    const already = new Set(existing.map((e) => userKey(e.user)));
    const subscribers = (await deps.store.dmSubscribers()).filter((u) => !already.has(userKey(u)));
    const results = await mapLimit(subscribers, SENDS_IN_FLIGHT, async (user) => {
      try {
        return await sendIfWaitingFor(deps, record, user);
      } catch (error) {
        failures.push(error);
        deps.logger.warn({ deploymentId, slackUser: user.userId, err: (error as Error).message }, 'DM not sent');
        return false;
      }
    });
    sent = results.filter(Boolean).length;
  }
  const updated = updates.filter(Boolean).length;
  if (sent || updated) deps.logger.info({ deploymentId, sent, updated }, 'DMs brought up to date');
  const again = failures.find(retryable);
  if (again) throw again;
  return { sent, updated };
}

async function sendIfWaitingFor(deps: NotifyDeps, record: CardRecord, user: SlackUser): Promise<boolean> {
  const resolution = await deps.identity.resolve(user);
  if (resolution.kind !== 'linked') return false;
  const gitlabUserId = resolution.identity.gitlab.id;
  const person = approverOf(resolution.identity);
  if (!(await canSee(deps, viewerOf(user, resolution), record))) return false;
  const mine = await waitingFor(deps, person, [record]);
  if (mine.records.length === 0) return false;
  if (!(await deps.store.claimDm(record.deploymentId, user))) return false;
  const dm = await dmModel(deps, record, person);
  let ref;
  try {
    ref = await deps.chat.sendDm(user.userId, dm);
  } catch (error) {
    // Slack said no (or slow down): nothing was posted, the next run may post. Otherwise it may have been.
    if (isGreenlightError(error, 'slack_refused') || isGreenlightError(error, 'slack_rate_limited'))
      await deps.store.releaseDm(record.deploymentId, user);
    throw error;
  }
  await deps.store.saveDm(record.deploymentId, user, { ...ref, gitlabUserId, fingerprint: dmFingerprint(dm) });
  return true;
}
