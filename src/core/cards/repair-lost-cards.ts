import type { Logger, WorkQueue } from '../ports.ts';

/**
 * After Redis lost greenlight's data, cards in Slack still offer buttons although greenlight has no record of them,
 * and their deployments may have been decided meanwhile. Each open card found in the channels cards go to (newest
 * first, within `windowMs` and a bounded number of history pages) is synced again: the sync adopts it and brings it
 * up to date (core/cards/sync-card.ts). Running it twice is harmless.
 */
export async function repairLostCards(
  deps: {
    chat: { openCards(channel: string, since: number): Promise<Array<{ deploymentId: number; projectId: number }>> };
    queue: WorkQueue;
    logger: Logger;
    now: number;
  },
  input: { channels: readonly string[]; windowMs: number },
): Promise<number> {
  let found = 0;
  for (const channel of input.channels) {
    let cards;
    try {
      cards = await deps.chat.openCards(channel, deps.now - input.windowMs);
    } catch (error) {
      deps.logger.warn({ channel, err: (error as Error).message }, 'open cards of a channel could not be read');
      continue;
    }
    for (const card of cards) {
      await deps.queue.requestSync({ projectId: card.projectId, deploymentId: card.deploymentId }, 'redis lost data');
      found += 1;
    }
  }
  deps.logger.info({ channels: input.channels.length, found }, 'open cards re-synced after redis lost data');
  return found;
}
