import { z } from 'zod';
import type { CardState } from '../deployments/deployment.ts';
import type { PendingRow } from '../pending/pending-row.ts';
import type { MessageRef, SlackUser } from '../ports.ts';

/** A DM greenlight sent about one deployment, kept so that it can be updated like a card (stored as JSON). */
export const DmRef = z.object({
  channel: z.string().min(1),
  ts: z.string().min(1),
  gitlabUserId: z.number().int().positive(),
  fingerprint: z.string(),
});
export type DmRef = z.infer<typeof DmRef>;

/** Per-person state: the DM setting, the DMs sent, who looked at their Home tab lately. */
export interface PersonalStore {
  dmEnabled(user: SlackUser): Promise<boolean>;
  setDmEnabled(user: SlackUser, on: boolean): Promise<void>;
  /** everyone who turned the DM on */
  dmSubscribers(): Promise<SlackUser[]>;
  /** DMs about a deployment; `ref` null = claimed, but the post was never confirmed */
  dms(deploymentId: number): Promise<Array<{ user: SlackUser; ref: DmRef | null }>>;
  /** Reserves the one DM per person and deployment; false when it exists already. */
  claimDm(deploymentId: number, user: SlackUser): Promise<boolean>;
  saveDm(deploymentId: number, user: SlackUser, ref: DmRef): Promise<void>;
  /** Gives a claim back (Slack said no, nothing was posted). */
  releaseDm(deploymentId: number, user: SlackUser): Promise<void>;
  noteHomeOpened(user: SlackUser, at: number): Promise<void>;
  /** People who opened their Home tab since `since`, most recent first (bounded). */
  homeAudience(since: number): Promise<SlackUser[]>;
}

/** The Home tab and DMs over Slack. */
export interface PersonalChat {
  publishHome(userId: string, home: HomeModel): Promise<void>;
  /** Opens (or finds) the person's DM with greenlight and posts there. */
  sendDm(userId: string, dm: DmModel): Promise<MessageRef>;
  updateDm(ref: MessageRef, dm: DmModel): Promise<void>;
}

/** Where a person links their GitLab account (oauth mode); the link flow itself belongs to account linking. */
export type LinkTarget = (user: SlackUser) => Promise<string | null>;

export type LinkStatus =
  | { kind: 'linked'; username: string; name: string; via: 'policy' | 'email' | 'oauth' }
  | { kind: 'unlinked' }
  | { kind: 'broken'; reason: string };

/** What a person's Home tab says, independent of Block Kit. */
export type HomeModel = {
  now: number;
  command: string;
  linkMode: 'oauth' | 'sudo';
  link: LinkStatus;
  linkUrl: string | null;
  dmEnabled: boolean;
  /** null while greenlight does not know the person's GitLab account */
  forYou: { rows: PendingRow[]; total: number; unchecked: number } | null;
  all: { rows: PendingRow[]; total: number };
};

/** What a DM about one deployment says. Contains no clock: equal models need no chat.update. */
export type DmModel = {
  row: PendingRow;
  state: CardState;
  /** Approve and Reject are offered while the person can still approve */
  canAct: boolean;
  headline: string;
};
