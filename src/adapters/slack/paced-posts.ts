import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode as SlackErrorCode, type WebClient } from '@slack/web-api';
import { GreenlightError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import type { ChannelPacer } from '../redis/channel-pacer.ts';

/**
 * What identifies a post across retries, so it keeps its reserved slot: its metadata when it has some
 * (cards and reminders carry their deployment and seq, while their text changes, e.g. "waited 3s"),
 * otherwise its whole content.
 */
function ticketFor(args: Record<string, unknown>): string {
  const identity = args.metadata ? { channel: args.channel, thread_ts: args.thread_ts, metadata: args.metadata } : args;
  return createHash('sha256').update(JSON.stringify(identity)).digest('base64url').slice(0, 22);
}

/**
 * Routes every chat.postMessage of this client through the per-channel pacer, so cards, reminders,
 * escalations and DMs, whoever posts them, stay under Slack's ~1 message/s/channel together:
 * - a short wait is slept in place, then the post goes out;
 * - a longer one fails fast with slack_rate_limited + retryAfterMs, and the job runner delays the job by
 *   exactly that (no worker slot sleeps, no attempt is spent); the same post coming back keeps its slot;
 * - a 429 from Slack anyway closes the channel for its Retry-After for every process.
 * Wrapped in place because every post goes through this one client.
 */
export function pacePostMessages(client: WebClient, pacer: ChannelPacer, logger?: Logger): WebClient {
  const post = client.chat.postMessage;
  const paced = async (args: Parameters<typeof post>[0]) => {
    const channel = String((args as { channel?: unknown }).channel ?? '');
    const ticket = ticketFor(args as unknown as Record<string, unknown>);
    const decision = await pacer.acquire(channel, ticket);
    if (decision.kind === 'later') {
      logger?.debug({ channel, retryAfterMs: decision.retryAfterMs }, 'post paced: job delayed to its slot');
      throw new GreenlightError('slack_rate_limited', `greenlight paces posts to ${channel}`, {
        retryAfterMs: decision.retryAfterMs,
        detail: 'paced',
      });
    }
    if (decision.sleepMs > 0) await sleep(decision.sleepMs);
    try {
      return await post(args);
    } catch (error) {
      const e = error as { code?: string; retryAfter?: number };
      if (e.code === SlackErrorCode.RateLimitedError) {
        logger?.warn({ channel, retryAfterS: e.retryAfter }, 'Slack rate-limited a paced post');
        await pacer.penalize(channel, (e.retryAfter ?? 1) * 1000).catch(() => undefined);
      }
      throw error;
    }
  };
  client.chat.postMessage = paced as typeof post;
  return client;
}
