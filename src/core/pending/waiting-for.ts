import { canStillApprove, type MembershipPort } from '../approvals/eligible-approvers.ts';
import { allApprovals } from '../deployments/deployment.ts';
import type { CardRecord, Logger } from '../ports.ts';
import { mapLimit } from '../../lib/map-limit.ts';

/** Rule membership is read per project and group (cached by the adapter); a few reads at a time. */
const MEMBERSHIP_READS_IN_FLIGHT = 6;

export type WaitingFor = {
  records: CardRecord[];
  /** deployments whose rule membership could not be read (GitLab unavailable): neither in nor out */
  unchecked: number;
};

/**
 * The waiting deployments this GitLab user could approve now: in a rule that still needs approvals, not
 * the creator, not decided yet (GitLab counts one decision per person). Order is kept.
 */
export async function waitingFor(
  deps: { membership: MembershipPort; logger: Logger },
  gitlabUserId: number,
  records: readonly CardRecord[],
): Promise<WaitingFor> {
  let unchecked = 0;
  const verdicts = await mapLimit(records, MEMBERSHIP_READS_IN_FLIGHT, async (record) => {
    const d = record.snapshot;
    // Cheap refusals first: they need no membership read.
    if (d.creator?.id === gitlabUserId || allApprovals(d).some((a) => a.user.id === gitlabUserId)) return false;
    try {
      return await canStillApprove(deps, d, gitlabUserId);
    } catch (error) {
      unchecked += 1;
      deps.logger.warn(
        { deploymentId: d.id, projectId: d.project.id, err: (error as Error).message },
        'rule membership could not be read',
      );
      return false;
    }
  });
  return { records: records.filter((_, i) => verdicts[i]), unchecked };
}
