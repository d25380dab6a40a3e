import type { WebClient } from '@slack/web-api';
import type { NudgeChat, NudgeId } from '../../core/reminders/ports.ts';
import { NUDGE_METADATA_EVENT } from './ids.ts';
import { renderEscalation, renderReminder, renderSnoozeNote } from './nudge-blocks.ts';
import { slackCall } from './web.ts';

type WithMetadata = {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: { deployment_id?: unknown; seq?: unknown } };
};

/** Reminders (thread replies), escalations and snooze notes over the Slack Web API. */
export function createNudgeChat(client: WebClient): NudgeChat {
  let workspaceUrl: Promise<string | null> | null = null;
  const metadata = (id: NudgeId) => ({
    event_type: NUDGE_METADATA_EVENT,
    event_payload: { deployment_id: id.deploymentId, seq: id.seq },
  });
  const isNudge = (m: WithMetadata, id: NudgeId) =>
    m.metadata?.event_type === NUDGE_METADATA_EVENT &&
    Number(m.metadata.event_payload?.deployment_id) === id.deploymentId &&
    Number(m.metadata.event_payload?.seq) === id.seq;

  return {
    async postReminder(card, message) {
      const rendered = renderReminder(message);
      const result = await slackCall(`reminder in ${card.channel}/${card.ts}`, () =>
        client.chat.postMessage({
          channel: card.channel,
          thread_ts: card.ts,
          text: rendered.text,
          blocks: rendered.blocks as never,
          metadata: metadata(message.id),
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      return { channel: result.channel ?? card.channel, ts: result.ts! };
    },
    async postEscalation(channel, message) {
      const rendered = renderEscalation(message);
      const result = await slackCall(`escalation to ${channel}`, () =>
        client.chat.postMessage({
          channel,
          text: rendered.text,
          blocks: rendered.blocks as never,
          metadata: metadata(message.id),
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      return { channel: result.channel ?? channel, ts: result.ts! };
    },
    async postSnoozeNote(card, note) {
      const rendered = renderSnoozeNote(note);
      await slackCall(`snooze note in ${card.channel}/${card.ts}`, () =>
        client.chat.postMessage({
          channel: card.channel,
          thread_ts: card.ts,
          text: rendered.text,
          blocks: rendered.blocks as never,
        }),
      );
    },
    async findNudge(where, id, since) {
      if (where.threadTs) {
        const threadTs = where.threadTs;
        const result = await slackCall(`conversations.replies of ${where.channel}/${threadTs}`, () =>
          client.conversations.replies({
            channel: where.channel,
            ts: threadTs,
            include_all_metadata: true,
            limit: 200,
          }),
        );
        return ((result.messages ?? []) as WithMetadata[]).some((m) => isNudge(m, id));
      }
      const result = await slackCall(`conversations.history of ${where.channel}`, () =>
        client.conversations.history({
          channel: where.channel,
          oldest: String(Math.floor(since / 1000)),
          include_all_metadata: true,
          limit: 200,
        }),
      );
      return ((result.messages ?? []) as WithMetadata[]).some((m) => isNudge(m, id));
    },
    async cardLink(card) {
      // Slack's permalink format on the workspace's own URL (one auth.test per process, not one call per link).
      workspaceUrl ??= slackCall('auth.test', () => client.auth.test()).then((r) => r.url ?? null);
      const base = await workspaceUrl.catch(() => {
        workspaceUrl = null;
        return null;
      });
      if (!base) return null;
      return `${base.replace(/\/?$/, '/')}archives/${card.channel}/p${card.ts.replace('.', '')}`;
    },
  };
}
