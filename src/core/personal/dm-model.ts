import { canStillApprove, type EligibilityDeps } from '../approvals/eligible-approvers.ts';
import type { Approver } from '../approvals/may-approve.ts';
import { allApprovals, rejectionOf, type CardState } from '../deployments/deployment.ts';
import { pendingRow } from '../pending/pending-row.ts';
import type { CardRecord, Logger } from '../ports.ts';
import type { DmModel } from './ports.ts';

const HEADLINE: Record<Exclude<CardState, 'waiting' | 'rejected'>, string> = {
  approved: 'Fully approved; it waits for someone to run it.',
  running: 'Deploying now.',
  succeeded: 'Deployed.',
  failed: 'The deployment job failed.',
  canceled: 'Canceled.',
  superseded: 'Superseded by a newer deployment to this environment.',
};

/** The DM for one person about one deployment, as the card record last saw it. */
export async function dmModel(
  deps: EligibilityDeps & { logger: Logger },
  record: CardRecord,
  person: Approver,
): Promise<DmModel> {
  const d = record.snapshot;
  const row = pendingRow(record);
  if (record.state === 'rejected') {
    const rejection = rejectionOf(d);
    return {
      row,
      state: record.state,
      canAct: false,
      headline: rejection ? `Rejected by @${rejection.user.username}.` : 'Rejected.',
    };
  }
  if (record.state !== 'waiting') return { row, state: record.state, canAct: false, headline: HEADLINE[record.state] };
  const mine = allApprovals(d).find((a) => a.user.id === person.id);
  if (mine)
    return { row, state: record.state, canAct: false, headline: `You ${mine.status} it; it still waits for others.` };
  let canAct = true;
  try {
    canAct = await canStillApprove(deps, d, person);
  } catch (error) {
    // Membership unknown for now: keep the buttons; GitLab checks again on the click.
    deps.logger.warn(
      { deploymentId: d.id, err: (error as Error).message },
      'rule membership could not be read for a DM',
    );
  }
  return {
    row,
    state: record.state,
    canAct,
    headline: canAct ? 'Waiting for your approval.' : 'It still waits for approvals from others.',
  };
}

export function dmFingerprint(dm: DmModel): string {
  const { cardVersion: _version, ...row } = dm.row;
  return JSON.stringify({ ...dm, row });
}
