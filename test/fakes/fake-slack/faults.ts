import type { Clock } from './clock.ts';
import type { InjectedFailure } from './types.ts';

/** Key under which failNext/setLatency apply to response_url posts instead of a Web API method. */
export const RESPONSE_URL_KEY = 'response_url';

export interface PostMessagePace {
  perChannelPerSecond: number;
  /**
   * Posts a channel may take at once before the pace applies (Slack: "short bursts of more than 1 allowed").
   * Default 1: strictly one per 1/perChannelPerSecond s, as close to its arrival time as this fake measures.
   */
  burst?: number;
}

/**
 * Failure injection, artificial latency, and Slack's chat.postMessage pacing (about one message per second per
 * channel, answered with a real HTTP 429 + Retry-After).
 */
export class Faults {
  private readonly queued = new Map<string, InjectedFailure[]>();
  private readonly latency = new Map<string, number>();
  private readonly holds = new Map<string, Promise<void>>();
  private pace: PostMessagePace | undefined;
  /** Per channel: a token bucket on the fake's clock (tokens at `at`); an accepted post takes one. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  failNext(method: string, failure: InjectedFailure, times = 1): void {
    const queue = this.queued.get(method) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(failure);
    this.queued.set(method, queue);
  }

  takeFailure(method: string): InjectedFailure | undefined {
    return this.queued.get(method)?.shift();
  }

  /** ms of delay before `method` is processed; '*' applies to every method without its own value. */
  setLatency(method: string, ms: number): void {
    if (ms <= 0) this.latency.delete(method);
    else this.latency.set(method, ms);
  }

  latencyFor(method: string): number {
    return this.latency.get(method) ?? this.latency.get('*') ?? 0;
  }

  /** Calls to `method` wait until the returned release() (a test acting while a call is under way). */
  hold(method: string): () => void {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(method, held);
    return () => {
      if (this.holds.get(method) === held) this.holds.delete(method);
      release();
    };
  }

  heldFor(method: string): Promise<void> | undefined {
    return this.holds.get(method);
  }

  setPostMessagePace(pace: PostMessagePace | null): void {
    this.pace = pace ?? undefined;
    this.buckets.clear();
  }

  private bucket(channel: string, pace: PostMessagePace): { tokens: number; at: number } {
    const now = this.clock.now();
    const capacity = pace.burst ?? 1;
    const last = this.buckets.get(channel) ?? { tokens: capacity, at: now };
    const bucket = {
      tokens: Math.min(capacity, last.tokens + ((now - last.at) / 1000) * pace.perChannelPerSecond),
      at: now,
    };
    this.buckets.set(channel, bucket);
    return bucket;
  }

  /** Seconds to wait before the channel accepts another post, or undefined when a post is allowed now. */
  paceRetryAfter(channel: string): number | undefined {
    if (!this.pace) return undefined;
    const { tokens } = this.bucket(channel, this.pace);
    if (tokens >= 1) return undefined;
    return Math.max(1, Math.ceil((1 - tokens) / this.pace.perChannelPerSecond));
  }

  recordAcceptedPost(channel: string): void {
    if (!this.pace) return;
    this.bucket(channel, this.pace).tokens -= 1;
  }
}
