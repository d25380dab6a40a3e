import type { MembershipPort } from '../approvals/eligible-approvers.ts';
import { approverOf } from '../approvals/may-approve.ts';
import type { Policy } from '../policy.ts';
import { waitingRecords, type PendingIndex } from '../pending/list-pending.ts';
import { pendingRow } from '../pending/pending-row.ts';
import { waitingFor } from '../pending/waiting-for.ts';
import type { Clock, IdentityPort, Logger, SlackUser } from '../ports.ts';
import type { HomeModel, LinkStatus, LinkTarget, PersonalStore } from './ports.ts';
import { viewerOf, visibleTo, type VisibilityPort } from '../visibility/can-see.ts';

/** How many rows each Home section shows (Slack allows 100 blocks per Home tab; a row takes two). */
export const HOME_ROWS = { forYou: 10, all: 20 } as const;

export type BuildHomeDeps = {
  index: PendingIndex;
  identity: Pick<IdentityPort, 'resolve' | 'linkHint'>;
  membership: MembershipPort;
  /** the four-eyes rule (mayApprove): "for you" lists only what the person may approve */
  policy: Pick<Policy, 'fourEyes'>;
  /** who could see a deployment anyway (src/core/visibility) */
  visibility: VisibilityPort;
  store: Pick<PersonalStore, 'dmEnabled'>;
  linkTarget?: LinkTarget;
  clock: Clock;
  logger: Logger;
  command: string;
};

/** One person's Home tab: what waits for them, everything that waits, their GitLab link and DM setting. */
export async function buildHome(deps: BuildHomeDeps, user: SlackUser): Promise<HomeModel> {
  const [{ records: all }, resolution, dmEnabled] = await Promise.all([
    waitingRecords(deps.index),
    deps.identity.resolve(user),
    deps.store.dmEnabled(user),
  ]);
  const records = await visibleTo(deps, viewerOf(user, resolution), all);
  let link: LinkStatus;
  let forYou: HomeModel['forYou'] = null;
  if (resolution.kind === 'linked') {
    const { gitlab, via } = resolution.identity;
    link = { kind: 'linked', username: gitlab.username, name: gitlab.name, via };
    const mine = await waitingFor(deps, approverOf(resolution.identity), records);
    forYou = {
      rows: mine.records.slice(0, HOME_ROWS.forYou).map(pendingRow),
      total: mine.records.length,
      unchecked: mine.unchecked,
    };
  } else {
    link = resolution;
  }
  const linkUrl =
    link.kind !== 'linked' && deps.identity.linkHint === 'oauth' && deps.linkTarget
      ? await deps.linkTarget(user)
      : null;
  return {
    now: deps.clock.now(),
    command: deps.command,
    linkMode: deps.identity.linkHint,
    link,
    linkUrl,
    dmEnabled,
    forYou,
    all: { rows: records.slice(0, HOME_ROWS.all).map(pendingRow), total: records.length },
  };
}
