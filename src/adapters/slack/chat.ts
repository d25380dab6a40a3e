import type { WebClient } from '@slack/web-api';
import type { CardModel } from '../../core/cards/card-model.ts';
import type { ChatPort, MessageRef } from '../../core/ports.ts';
import type { Notice } from '../../core/approvals/notices.ts';
import { renderCard } from './card-blocks.ts';
import { ACTION, CARD_METADATA_EVENT } from './ids.ts';
import { z } from 'zod';
import { isGreenlightError } from '../../core/errors.ts';
import { renderNotice } from './notice-blocks.ts';
import { createDirectMessages, type DirectMessages } from './personal.ts';
import { slackCall } from './web.ts';

/** How far back a channel's history is read: 5 pages of 200 messages. */
const HISTORY_PAGES = 5;
const HISTORY_PAGE_SIZE = 200;

const CardMetadata = z.object({
  event_type: z.literal(CARD_METADATA_EVENT),
  event_payload: z.object({ deployment_id: z.coerce.number().int(), project_id: z.coerce.number().int() }),
});
const DECISION_ACTIONS = new Set<string>([ACTION.approve, ACTION.reject, ACTION.run]);

/** A card still offers a decision while one of its actions blocks has Approve, Reject or Run. */
function offersDecision(blocks: unknown): boolean {
  if (!Array.isArray(blocks)) return false;
  return blocks.some(
    (b: { type?: string; elements?: Array<{ action_id?: string }> }) =>
      b?.type === 'actions' && (b.elements ?? []).some((e) => DECISION_ACTIONS.has(e?.action_id ?? '')),
  );
}

/** Reads greenlight's cards in a channel since `since`, newest first, until `visit` says stop (bounded). */
async function scanCards(
  client: WebClient,
  channel: string,
  since: number,
  visit: (card: { deploymentId: number; projectId: number; ts: string; open: boolean }) => boolean,
): Promise<void> {
  let cursor: string | undefined;
  for (let page = 0; page < HISTORY_PAGES; page += 1) {
    const result = await slackCall(`conversations.history of ${channel}`, () =>
      client.conversations.history({
        channel,
        oldest: String(Math.floor(since / 1000) - 60),
        include_all_metadata: true,
        limit: HISTORY_PAGE_SIZE,
        ...(cursor && { cursor }),
      }),
    );
    for (const m of result.messages ?? []) {
      const meta = CardMetadata.safeParse((m as { metadata?: unknown }).metadata);
      if (!meta.success || !m.ts) continue;
      const card = {
        deploymentId: meta.data.event_payload.deployment_id,
        projectId: meta.data.event_payload.project_id,
        ts: m.ts,
        open: offersDecision(m.blocks),
      };
      if (visit(card)) return;
    }
    cursor = result.response_metadata?.next_cursor || undefined;
    if (!result.has_more || !cursor) return;
  }
}

/** Slack's answers when greenlight cannot read a channel's history to find a card again. */
const CANNOT_LOOK_UP = new Set(['not_in_channel', 'missing_scope', 'channel_not_found']);

/** Slack's answers when greenlight cannot post an ephemeral where the person clicked. */
const CANNOT_POST_THERE = new Set(['channel_not_found', 'not_in_channel', 'user_not_in_channel', 'is_archived']);

/** A Slack user as sudo mode judges them (users.info). */
export type SlackProfile = {
  teamId: string | null;
  email: string | null;
  emailConfirmed: boolean;
  /** multi- or single-channel guest */
  guest: boolean;
  /** from another organisation (Slack Connect) */
  stranger: boolean;
};

export type OpenCard = { deploymentId: number; projectId: number; ts: string };

export type SlackChat = ChatPort & {
  /** The card of a deployment posted in `channel` since `since` (ms), by its metadata; null when not found. */
  findCard(channel: string, deploymentId: number, since: number): Promise<string | null>;
  /** greenlight's cards in `channel` since `since` that still offer decision buttons. */
  openCards(channel: string, since: number): Promise<OpenCard[]>;
  /** null for unknown, deactivated and bot users */
  userProfile(userId: string): Promise<SlackProfile | null>;
  /** the workspace greenlight is installed in (auth.test), asked once */
  installedTeam(): Promise<string>;
  userIdByEmail(email: string): Promise<string | null>;
};

/** Cards and notices over the Slack Web API. `linkUrl` gives the account-link button its target. */
export function createSlackChat(
  client: WebClient,
  opts: { linkUrl?: (slackUserId: string, teamId?: string) => string | null; direct?: DirectMessages } = {},
): SlackChat {
  const direct = opts.direct ?? createDirectMessages(client);
  let team: Promise<string> | null = null;
  return {
    async postCard(channel, card: CardModel): Promise<MessageRef> {
      const message = renderCard(card);
      const result = await slackCall(`chat.postMessage to ${channel}`, () =>
        client.chat.postMessage({
          channel,
          text: message.text,
          blocks: message.blocks as never,
          unfurl_links: false,
          unfurl_media: false,
          metadata: {
            event_type: CARD_METADATA_EVENT,
            event_payload: { deployment_id: card.deploymentId, project_id: card.projectId },
          },
        }),
      );
      return { channel: result.channel ?? channel, ts: result.ts! };
    },
    async updateCard(ref, card) {
      const message = renderCard(card);
      await slackCall(`chat.update of ${ref.channel}/${ref.ts}`, () =>
        client.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks as never }),
      );
    },
    /** `channel` = the person's own id (a Home tab click has no channel): the notice goes to their DM. */
    async postNotice(channel, slackUserId, notice: Notice, teamId?: string) {
      const message = renderNotice(notice, notice.link ? (opts.linkUrl?.(slackUserId, teamId) ?? null) : null);
      if (channel === slackUserId) {
        await direct.postDirect(slackUserId, message);
        return;
      }
      try {
        await slackCall(`chat.postEphemeral to ${slackUserId}`, () =>
          client.chat.postEphemeral({
            channel,
            user: slackUserId,
            text: message.text,
            blocks: message.blocks as never,
          }),
        );
      } catch (error) {
        // e.g. the list was opened in a DM between people or a private channel greenlight is not in.
        if (!isGreenlightError(error, 'slack_refused') || !CANNOT_POST_THERE.has(error.detail ?? '')) throw error;
        await direct.postDirect(slackUserId, message);
      }
    },
    async findCard(channel, deploymentId, since) {
      let found: string | null = null;
      try {
        await scanCards(client, channel, since, (card) => {
          if (card.deploymentId !== deploymentId) return false;
          found = card.ts;
          return true;
        });
      } catch (error) {
        // The card cannot be looked up: a public channel the bot posts in through chat:write.public without being
        // a member (not_in_channel), or an app without the history scopes. Not found, then: the caller posts again
        // once no post can still be in flight (`greenlight doctor` warns about such channels).
        if (isGreenlightError(error, 'slack_refused') && CANNOT_LOOK_UP.has(error.detail ?? '')) return null;
        throw error;
      }
      return found;
    },
    async openCards(channel, since) {
      const cards: OpenCard[] = [];
      try {
        await scanCards(client, channel, since, (card) => {
          if (card.open) cards.push({ deploymentId: card.deploymentId, projectId: card.projectId, ts: card.ts });
          return false;
        });
      } catch (error) {
        if (isGreenlightError(error, 'slack_refused') && CANNOT_LOOK_UP.has(error.detail ?? '')) return [];
        throw error;
      }
      return cards;
    },
    async userProfile(userId) {
      const result = await slackCall(`users.info ${userId}`, () => client.users.info({ user: userId }));
      const user = result.user as
        (NonNullable<typeof result.user> & { is_stranger?: boolean; is_email_confirmed?: boolean }) | undefined;
      if (!user || user.deleted || user.is_bot) return null;
      return {
        teamId: user.team_id ?? null,
        email: user.profile?.email ?? null,
        // Slack omits the field for accounts whose e-mail it never asked to confirm: only true counts.
        emailConfirmed: user.is_email_confirmed === true,
        guest: user.is_restricted === true || user.is_ultra_restricted === true,
        stranger: user.is_stranger === true,
      };
    },
    installedTeam() {
      team ??= slackCall('auth.test', () => client.auth.test()).then(
        (result) => {
          if (!result.team_id) throw new Error('auth.test did not name the workspace');
          return result.team_id;
        },
        (error: unknown) => {
          team = null;
          throw error;
        },
      );
      return team;
    },
    async userIdByEmail(email) {
      try {
        const result = await client.users.lookupByEmail({ email });
        return result.user?.id ?? null;
      } catch (error) {
        if ((error as { data?: { error?: string } }).data?.error === 'users_not_found') return null;
        return slackCall('users.lookupByEmail', () => Promise.reject(error));
      }
    },
  };
}
