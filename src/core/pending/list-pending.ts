import type { MembershipPort } from '../approvals/eligible-approvers.ts';
import { approverOf } from '../approvals/may-approve.ts';
import type { Policy } from '../policy.ts';
import type { GitLabUser } from '../deployments/deployment.ts';
import type { CardRecord, IdentityPort, Logger, SlackUser } from '../ports.ts';
import { matchesTerms, type PendingQuery } from './pending-query.ts';
import { pendingRow, type PendingRow } from './pending-row.ts';
import { waitingFor } from './waiting-for.ts';
import { viewerOf, visibleTo, type VisibilityPort } from '../visibility/can-see.ts';

/** The open cards (waiting or approved, not yet resolved), newest first: a Redis read, no GitLab call. */
export interface PendingIndex {
  list(limit: number): Promise<CardRecord[]>;
}

/** At most this many open cards are read for one answer; beyond that the answer says so. */
export const MAX_OPEN_READ = 1000;

export type ListPendingDeps = {
  index: PendingIndex;
  identity: Pick<IdentityPort, 'resolve'>;
  membership: MembershipPort;
  /** the four-eyes rule (mayApprove): `mine` lists only what the person may approve */
  policy: Pick<Policy, 'fourEyes'>;
  /** who could see a deployment anyway (src/core/visibility): nobody is shown what they could not see */
  visibility: VisibilityPort;
  logger: Logger;
};

export type PendingPage = {
  kind: 'page';
  rows: PendingRow[];
  /** how many match the query (all pages) */
  total: number;
  offset: number;
  /** how many wait for approval at all, before the query */
  waiting: number;
  /** `mine`: deployments whose rule membership could not be read */
  unchecked: number;
  /** `mine`: who greenlight takes the person for */
  person: GitLabUser | null;
  /** more open cards exist than were read */
  truncated: boolean;
};

export type PendingAnswer = PendingPage | { kind: 'unlinked' } | { kind: 'broken'; reason: string };

/** Everything waiting for approval, newest first (ties: the higher deployment id first). */
export async function waitingRecords(index: PendingIndex): Promise<{ records: CardRecord[]; truncated: boolean }> {
  const open = await index.list(MAX_OPEN_READ);
  const records = open
    .filter((r) => r.state === 'waiting')
    .sort((a, b) => b.snapshot.createdAt.localeCompare(a.snapshot.createdAt) || b.deploymentId - a.deploymentId);
  return { records, truncated: open.length >= MAX_OPEN_READ };
}

/**
 * The list behind the slash command: what waits for approval, filtered by the query, one page of it.
 * `mine` keeps only what the person could approve now (rule membership, never as the creator, not yet decided).
 */
export async function listPending(
  deps: ListPendingDeps,
  input: { user: SlackUser; query: PendingQuery; offset: number; limit: number },
): Promise<PendingAnswer> {
  const { records: all, truncated } = await waitingRecords(deps.index);
  const resolution = await deps.identity.resolve(input.user);
  const records = await visibleTo(deps, viewerOf(input.user, resolution), all);
  let matching = records.filter((r) => matchesTerms(r.snapshot, input.query.terms));
  let unchecked = 0;
  let person: GitLabUser | null = null;
  if (input.query.mine) {
    if (resolution.kind === 'unlinked') return { kind: 'unlinked' };
    if (resolution.kind === 'broken') return { kind: 'broken', reason: resolution.reason };
    person = resolution.identity.gitlab;
    const mine = await waitingFor(deps, approverOf(resolution.identity), matching);
    matching = mine.records;
    unchecked = mine.unchecked;
  }
  const offset = Math.min(Math.max(input.offset, 0), Math.max(matching.length - 1, 0));
  return {
    kind: 'page',
    rows: matching.slice(offset, offset + input.limit).map(pendingRow),
    total: matching.length,
    offset,
    waiting: records.length,
    unchecked,
    person,
    truncated,
  };
}
