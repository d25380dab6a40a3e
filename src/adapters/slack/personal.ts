import type { WebClient } from '@slack/web-api';
import type { DmModel, HomeModel, PersonalChat } from '../../core/personal/ports.ts';
import type { MessageRef } from '../../core/ports.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import type { SlackMessage } from './card-blocks.ts';
import { renderHome } from './home-view.ts';
import { renderDm } from './pending-blocks.ts';
import { slackCall } from './web.ts';

export type DirectMessages = {
  /** conversations.open: the D… channel of the bot's DM with the person (cached; it never changes). */
  dmChannel(userId: string): Promise<string>;
  postDirect(userId: string, message: SlackMessage): Promise<MessageRef>;
};

/** A plain DM: the text as a section (mrkdwn), with the same text as the notification fallback. */
export function directText(text: string): SlackMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** The DM that confirms a new link (oauth mode): who this Slack account now acts as in GitLab, and how to undo it. */
export function linkedText(username: string, command: string): SlackMessage {
  return directText(
    `:link: Your Slack account now acts as GitLab *@${username}*: greenlight records your ` +
      `approvals in GitLab as them. Not you? \`${command} unlink\``,
  );
}

export function createDirectMessages(client: WebClient): DirectMessages {
  const channels = new TtlCache<string, string>({ ttlMs: 24 * 3_600_000, max: 10_000 });
  const dmChannel = (userId: string) =>
    channels.getOrLoad(userId, async () => {
      const opened = await slackCall(`conversations.open with ${userId}`, () =>
        client.conversations.open({ users: userId }),
      );
      return opened.channel!.id!;
    });
  return {
    dmChannel,
    async postDirect(userId, message) {
      const channel = await dmChannel(userId);
      const posted = await slackCall(`chat.postMessage to ${channel}`, () =>
        client.chat.postMessage({
          channel,
          text: message.text,
          blocks: message.blocks as never,
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      return { channel: posted.channel ?? channel, ts: posted.ts! };
    },
  };
}

/** The Home tab and approvers' DMs over the Slack Web API. */
export function createPersonalChat(
  client: WebClient,
  direct: DirectMessages = createDirectMessages(client),
): PersonalChat {
  return {
    async publishHome(userId: string, home: HomeModel) {
      await slackCall(`views.publish for ${userId}`, () =>
        client.views.publish({ user_id: userId, view: renderHome(home) as never }),
      );
    },
    sendDm: (userId: string, dm: DmModel) => direct.postDirect(userId, renderDm(dm)),
    async updateDm(ref: MessageRef, dm: DmModel) {
      const message = renderDm(dm);
      await slackCall(`chat.update of ${ref.channel}/${ref.ts}`, () =>
        client.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks as never }),
      );
    },
  };
}
