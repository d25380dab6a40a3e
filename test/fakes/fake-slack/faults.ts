import type { Clock } from './clock.ts';
import type { InjectedFailure } from './types.ts';

/** Key under which failNext/setLatency apply to response_url posts instead of a Web API method. */
export const RESPONSE_URL_KEY = 'response_url';

export interface PostMessagePace {
  perChannelPerSecond: number;
}

/**
 * Failure injection, artificial latency, and Slack's chat.postMessage pacing (about one message per second per
 * channel, answered with a real HTTP 429 + Retry-After).
 */
export class Faults {
  private readonly queued = new Map<string, InjectedFailure[]>();
  private readonly latency = new Map<string, number>();
  private pace: PostMessagePace | undefined;
  private readonly acceptedPosts = new Map<string, number[]>();
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

  setPostMessagePace(pace: PostMessagePace | null): void {
    this.pace = pace ?? undefined;
    this.acceptedPosts.clear();
  }

  /** Seconds to wait before the channel accepts another post, or undefined when a post is allowed now. */
  paceRetryAfter(channel: string): number | undefined {
    if (!this.pace) return undefined;
    const now = this.clock.now();
    const recent = (this.acceptedPosts.get(channel) ?? []).filter((t) => now - t < 1000);
    this.acceptedPosts.set(channel, recent);
    if (recent.length < this.pace.perChannelPerSecond) return undefined;
    const oldest = recent[0] ?? now;
    return Math.max(1, Math.ceil((oldest + 1000 - now) / 1000));
  }

  recordAcceptedPost(channel: string): void {
    if (!this.pace) return;
    const posts = this.acceptedPosts.get(channel) ?? [];
    posts.push(this.clock.now());
    this.acceptedPosts.set(channel, posts);
  }
}
