import type { WebClient } from '@slack/web-api';
import { slackCall } from './web.ts';

/** A message in the person's direct conversation with greenlight (conversations.open + chat.postMessage). */
export async function sendDirectMessage(client: WebClient, userId: string, text: string): Promise<void> {
  const opened = await slackCall(`conversations.open with ${userId}`, () => client.conversations.open({ users: userId }));
  const channel = opened.channel?.id;
  if (!channel) throw new Error('conversations.open returned no channel');
  await slackCall(`chat.postMessage to ${userId}`, () => client.chat.postMessage({ channel, text, unfurl_links: false, unfurl_media: false }));
}
