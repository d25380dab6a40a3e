import type { WebClient } from '@slack/web-api';
import { TtlCache } from '../../lib/ttl-cache.ts';
import { slackCall } from './web.ts';

const TTL_MS = 5 * 60_000;
const PAGE = 1000;
/** Members read per channel at most (20 pages); beyond that a person counts as not in it (GitLab may still say yes). */
const MAX_PAGES = 20;

/**
 * Who is in a channel (conversations.members; channels:read, groups:read for private channels, which the bot is
 * in since it posts there). One member list per channel, cached for five minutes; cards go to a few channels.
 */
export function createChannelMembers(client: WebClient): {
  inChannel(channel: string, userId: string): Promise<boolean>;
} {
  const cache = new TtlCache<string, ReadonlySet<string>>({ ttlMs: TTL_MS, max: 500 });

  async function load(channel: string): Promise<ReadonlySet<string>> {
    const members = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const result = await slackCall(`conversations.members of ${channel}`, () =>
        client.conversations.members({ channel, limit: PAGE, ...(cursor && { cursor }) }),
      );
      for (const id of result.members ?? []) members.add(id);
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return members;
  }

  return {
    async inChannel(channel, userId) {
      // A DM with the bot: its one human is the person (channels here are cards' channels, which are not DMs).
      if (channel.startsWith('D')) return false;
      return (await cache.getOrLoad(channel, () => load(channel))).has(userId);
    },
  };
}
