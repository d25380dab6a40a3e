import { approvalTotals, shortSha, type GitLabUser } from '../deployments/deployment.ts';
import type { ChangesView } from '../cards/changes-summary.ts';
import type { CardRecord } from '../ports.ts';

/**
 * One waiting deployment as the list, the Home tab and a DM show it; independent of Block Kit
 * (src/adapters/slack/pending-blocks.ts renders it). Built from the card record's snapshot: no GitLab call.
 */
export type PendingRow = {
  deploymentId: number;
  projectId: number;
  /** The card's version: the buttons carry it exactly like the card's buttons do. */
  cardVersion: number;
  project: { path: string; url: string };
  environment: { name: string; tier: string | null; url: string };
  ref: string;
  shortSha: string;
  creator: GitLabUser | null;
  /** ISO time since when it waits (deployment created_at). */
  waitingSince: string;
  progress: { approved: number; required: number };
  openUrl: string;
  /** What the deployment changes, as its card shows it (one line in lists). */
  changes: ChangesView | null;
};

export function pendingRow(record: Pick<CardRecord, 'snapshot' | 'version' | 'changes'>): PendingRow {
  const d = record.snapshot;
  return {
    deploymentId: d.id,
    projectId: d.project.id,
    cardVersion: record.version,
    project: { path: d.project.path, url: d.project.webUrl },
    environment: { name: d.environment.name, tier: d.environment.tier, url: d.environment.webUrl },
    ref: d.ref,
    shortSha: shortSha(d),
    creator: d.creator,
    waitingSince: d.createdAt,
    progress: approvalTotals(d),
    openUrl: d.job?.webUrl ?? d.environment.webUrl,
    changes: record.changes ?? null,
  };
}
