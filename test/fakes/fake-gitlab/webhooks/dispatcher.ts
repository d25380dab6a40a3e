// Delivers webhooks like WebHookService (§1.3, §1.4): real HTTP POSTs, one at a time in order of
// occurrence, 10 s timeout, success = 2xx/3xx, never re-sent, auto-disabled after 4 failures in a row.
import { randomUUID } from 'node:crypto';
import type { Ctx } from '../context.ts';
import { hookAlertStatus } from '../entities.ts';
import type { HookRec } from '../model.ts';
import type { HookEventName } from './payloads.ts';

export type DeliveryState = 'held' | 'queued' | 'sending' | 'delivered' | 'failed' | 'dropped';

export interface WebhookDelivery {
  /** Position in `fake.deliveries`; pass it to `redeliver`. */
  readonly index: number;
  readonly hookId: number;
  readonly url: string;
  readonly event: HookEventName;
  readonly payload: Record<string, unknown>;
  /** Stable across redeliveries of the same delivery. */
  readonly idempotencyKey: string;
  /** Shared by every delivery triggered by the same request / fake action. */
  readonly eventUuid: string;
  /** Index of the delivery this one re-sends ("Resend Request"), else null. */
  readonly redeliveryOf: number | null;
  state: DeliveryState;
  /** New per HTTP request; null until sent. */
  webhookUuid: string | null;
  /** Headers as sent (original case), null until sent. */
  requestHeaders: Record<string, string> | null;
  /** Receiver's HTTP status, null when not sent or no response (timeout, connection error). */
  status: number | null;
  /** Why it failed or was dropped ("timeout after 10000 ms", "hook temporarily disabled", ...). */
  error: string | null;
  /** First 8 KB of the receiver's response. */
  responseBody: string | null;
}

export type ReleaseOrder = 'asis' | 'reverse' | 'shuffle';

export interface Dispatcher {
  readonly deliveries: readonly WebhookDelivery[];
  enqueue(hook: HookRec, event: HookEventName, payload: Record<string, unknown>, eventUuid: string): WebhookDelivery;
  redeliver(index: number): WebhookDelivery;
  hold(): void;
  release(opts?: { order?: ReleaseOrder; seed?: number }): void;
  idle(): Promise<void>;
  enableHook(hookId: number): void;
  close(): void;
}

const INITIAL_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 24 * 60 * 60_000;
const FAILURE_THRESHOLD = 3; // disabled when recent failures exceed this, i.e. on the 4th
const PERMANENT_FAILURE_THRESHOLD = 39;
const RESPONSE_BODY_LIMIT = 8 * 1024;

export function isExecutable(hook: HookRec, now: number): boolean {
  return hookAlertStatus(hook, now) === 'executable';
}

export function recordHookResult(hook: HookRec, success: boolean, now: number): void {
  if (success) {
    hook.recentFailures = 0;
    hook.backoffCount = 0;
    hook.disabledUntil = null;
    hook.permanentlyDisabled = false;
    return;
  }
  hook.recentFailures += 1;
  if (hook.recentFailures > PERMANENT_FAILURE_THRESHOLD) {
    hook.permanentlyDisabled = true;
  } else if (hook.recentFailures > FAILURE_THRESHOLD) {
    hook.backoffCount += 1;
    hook.disabledUntil = now + Math.min(INITIAL_BACKOFF_MS * 2 ** (hook.backoffCount - 1), MAX_BACKOFF_MS);
  }
}

/** mulberry32, so a seeded shuffle is reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function createDispatcher(ctx: Ctx, opts: { timeoutMs: number }): Dispatcher {
  const deliveries: WebhookDelivery[] = [];
  const queue: WebhookDelivery[] = [];
  const held: WebhookDelivery[] = [];
  const forced = new Set<number>();
  const idleWaiters: Array<() => void> = [];
  const inFlight = new Set<AbortController>();
  let holding = false;
  let pumping = false;
  let closed = false;

  const settleIdle = (): void => {
    if (pumping || queue.length > 0) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  async function send(delivery: WebhookDelivery): Promise<void> {
    const hook = ctx.state.hooks.get(delivery.hookId);
    if (!hook) {
      delivery.state = 'dropped';
      delivery.error = 'hook deleted';
      return;
    }
    if (!forced.has(delivery.index) && !isExecutable(hook, ctx.clock.now())) {
      delivery.state = 'dropped';
      delivery.error = hook.permanentlyDisabled ? 'hook disabled' : 'hook temporarily disabled';
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': `GitLab/${ctx.version}`,
      'X-Gitlab-Event': delivery.event,
      'X-Gitlab-Webhook-UUID': randomUUID(),
      'X-Gitlab-Instance': ctx.baseUrl(),
      'X-Gitlab-Event-UUID': delivery.eventUuid,
      'Idempotency-Key': delivery.idempotencyKey,
    };
    if (hook.token !== null && hook.token !== '') headers['X-Gitlab-Token'] = hook.token;
    delivery.state = 'sending';
    delivery.webhookUuid = headers['X-Gitlab-Webhook-UUID'] ?? null;
    delivery.requestHeaders = headers;
    const controller = new AbortController();
    inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
    let success = false;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(delivery.payload),
        redirect: 'manual',
        signal: controller.signal,
      });
      delivery.status = response.status;
      delivery.responseBody = (await response.text()).slice(0, RESPONSE_BODY_LIMIT);
      success = response.status >= 200 && response.status < 400;
      if (!success) delivery.error = `HTTP ${response.status}`;
    } catch (error) {
      delivery.error = controller.signal.aborted
        ? closed
          ? 'fake GitLab closed'
          : `timeout after ${opts.timeoutMs} ms`
        : error instanceof Error
          ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}`
          : String(error);
    } finally {
      clearTimeout(timer);
      inFlight.delete(controller);
    }
    delivery.state = success ? 'delivered' : 'failed';
    if (!closed) recordHookResult(hook, success, ctx.clock.now());
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (let next = queue.shift(); next && !closed; next = queue.shift()) await send(next);
    } finally {
      pumping = false;
      settleIdle();
    }
  }

  function schedule(delivery: WebhookDelivery): void {
    if (closed) {
      delivery.state = 'dropped';
      delivery.error = 'fake GitLab closed';
      return;
    }
    if (holding) {
      delivery.state = 'held';
      held.push(delivery);
      return;
    }
    delivery.state = 'queued';
    queue.push(delivery);
    void pump();
  }

  function create(
    base: Pick<
      WebhookDelivery,
      'hookId' | 'url' | 'event' | 'payload' | 'idempotencyKey' | 'eventUuid' | 'redeliveryOf'
    >,
  ): WebhookDelivery {
    const delivery: WebhookDelivery = {
      ...base,
      index: deliveries.length,
      state: 'queued',
      webhookUuid: null,
      requestHeaders: null,
      status: null,
      error: null,
      responseBody: null,
    };
    deliveries.push(delivery);
    return delivery;
  }

  return {
    deliveries,
    enqueue(hook, event, payload, eventUuid) {
      const delivery = create({
        hookId: hook.id,
        url: hook.url,
        event,
        payload: structuredClone(payload),
        idempotencyKey: randomUUID(),
        eventUuid,
        redeliveryOf: null,
      });
      schedule(delivery);
      return delivery;
    },
    redeliver(index) {
      const original = deliveries[index];
      if (!original) throw new Error(`redeliver: no delivery #${index}`);
      const hook = ctx.state.hooks.get(original.hookId);
      const delivery = create({ ...original, url: hook?.url ?? original.url, redeliveryOf: original.index });
      forced.add(delivery.index);
      schedule(delivery);
      return delivery;
    },
    hold() {
      holding = true;
    },
    release({ order = 'asis', seed } = {}) {
      holding = false;
      const batch = held.splice(0);
      if (order === 'reverse') batch.reverse();
      if (order === 'shuffle') {
        const rnd = random(seed ?? Math.floor(Math.random() * 2 ** 32));
        for (let i = batch.length - 1; i > 0; i -= 1) {
          const j = Math.floor(rnd() * (i + 1));
          [batch[i], batch[j]] = [batch[j]!, batch[i]!];
        }
      }
      for (const delivery of batch) schedule(delivery);
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
    enableHook(hookId) {
      const hook = ctx.state.hooks.get(hookId);
      if (!hook) throw new Error(`enableHook: no hook ${hookId}`);
      recordHookResult(hook, true, ctx.clock.now());
    },
    close() {
      closed = true;
      for (const delivery of [...queue.splice(0), ...held.splice(0)]) {
        delivery.state = 'dropped';
        delivery.error = 'fake GitLab closed';
      }
      for (const controller of inFlight) controller.abort();
      settleIdle();
    },
  };
}
