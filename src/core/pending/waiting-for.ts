import { canStillApprove, type EligibilityDeps } from '../approvals/eligible-approvers.ts';
import { mayApprove, type Approver } from '../approvals/may-approve.ts';
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
 * The waiting deployments this person could approve now: allowed by mayApprove (never the creator, nor the
 * commit author when the policy forbids it), in a rule that still needs approvals, not decided yet (GitLab
 * counts one decision per person). Order is kept.
 */
export async function waitingFor(
  deps: EligibilityDeps & { logger: Logger },
  person: Approver,
  records: readonly CardRecord[],
): Promise<WaitingFor> {
  let unchecked = 0;
  const verdicts = await mapLimit(records, MEMBERSHIP_READS_IN_FLIGHT, async (record) => {
    const d = record.snapshot;
    // Cheap refusals first: they need no membership read.
    if (!mayApprove(d, person, deps.policy) || allApprovals(d).some((a) => a.user.id === person.id)) return false;
    try {
      return await canStillApprove(deps, d, person);
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
