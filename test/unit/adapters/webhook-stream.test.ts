import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../src/core/ports.ts';
import { keyspace } from '../../../src/adapters/redis/connection.ts';
import {
  batchWritesThisTurn,
  CONSUMER_GROUP,
  createWebhookLog,
  startWebhookConsumer,
  type WebhookConsumer,
  type WebhookConsumerOptions,
} from '../../../src/adapters/queue/webhook-stream.ts';
import type { IntakeEvent } from '../../../src/core/intake/intake-event.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../../helpers/redis.ts';
import { waitFor } from '../../helpers/wait.ts';

const event = (deploymentId: number): IntakeEvent => ({
  kind: 'deployment',
  projectId: 1,
  projectPath: 'acme/web',
  deploymentId,
  status: 'blocked',
  statusChangedAt: null,
  environment: 'production',
});

type Line = { level: string; msg: string; obj: Record<string, unknown> };
function recordingLogger(lines: Line[]): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: Record<string, unknown>, msg: string) =>
      lines.push({ level, msg, obj: { ...bindings, ...obj } });
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
    } as unknown as Logger;
  };
  return make({});
}

describe('webhook stream: deliveries from the web role to the workers (real Redis)', () => {
  const prefix = uniquePrefix('webhook-stream');
  const keys = keyspace(prefix);
  let redis: Redis;
  const consumers: WebhookConsumer[] = [];
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
    await redis.del(keys.webhooks);
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  const consume = (handle: WebhookConsumerOptions['handle'], over: Partial<WebhookConsumerOptions> = {}) => {
    const lines: Line[] = [];
    const consumer = startWebhookConsumer({
      connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }),
      commands: redis,
      keys,
      handle,
      logger: recordingLogger(lines),
      blockMs: 100,
      ...over,
    });
    consumers.push(consumer);
    return { consumer, lines };
  };

  it(
    'appends a delivery once, calls the same delivery ' + 'key again a duplicate, and remembers keys for a day',
    async () => {
      const log = createWebhookLog(redis, keys);
      expect(await log.append(event(1), 'a1b2c3d4-0000-4000-8000-000000000001')).toBe('queued');
      expect(await log.append(event(1), 'a1b2c3d4-0000-4000-8000-000000000001')).toBe('duplicate');
      expect(await redis.xlen(keys.webhooks)).toBe(1);
      const entries = (await redis.xrange(keys.webhooks, '-', '+')) as [string, string[]][];
      const fields = entries[0]![1];
      expect(JSON.parse(fields[fields.indexOf('event') + 1]!)).toEqual(event(1));
      const ttl = await redis.ttl(keys.webhookSeen('a1b2c3d4-0000-4000-8000-000000000001'));
      expect(ttl).toBeGreaterThan(86_000);
      expect(ttl).toBeLessThanOrEqual(86_400);
      // before any worker created the consumer group, everything counts as waiting
      expect(await log.backlog()).toEqual({ waiting: 1, active: 0 });
    },
  );

  it('appends distinct deliveries sent at once, and a concurrent duplicate exactly once', async () => {
    const log = createWebhookLog(redis, keys);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(event(100 + i), `burst-${i}`)));
    expect(results.every((r) => r === 'queued')).toBe(true);
    const same = await Promise.all([
      log.append(event(7), 'same'),
      log.append(event(7), 'same'),
      log.append(event(7), 'same'),
    ]);
    expect(same.sort()).toEqual(['duplicate', 'duplicate', 'queued']);
    expect(await redis.xlen(keys.webhooks)).toBe(21);
  });

  it('sends the commands of one event-loop turn in one socket write', async () => {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      await connection.ping();
      const socket = (connection as unknown as { stream: { _writev?: unknown; write: unknown } }).stream;
      const writev = vi.spyOn(socket as unknown as { _writev: (...args: unknown[]) => void }, '_writev');
      const batch = batchWritesThisTurn(connection);
      batch();
      const replies = await Promise.all([connection.ping('a'), connection.ping('b'), connection.ping('c')]);
      expect(replies).toEqual(['a', 'b', 'c']);
      expect(writev).toHaveBeenCalledTimes(1);
      expect((writev.mock.calls[0]![0] as unknown[]).length).toBe(3);
    } finally {
      connection.disconnect();
    }
  });

  it('hands every entry to a worker once, then acknowledges and deletes it', async () => {
    const log = createWebhookLog(redis, keys);
    for (let i = 0; i < 30; i += 1) await log.append(event(200 + i), `handled-${i}`);
    const seen: number[] = [];
    const observed: string[] = [];
    consume(
      async (e) => {
        seen.push((e as Extract<IntakeEvent, { kind: 'deployment' }>).deploymentId!);
      },
      { concurrency: 4, observe: (o) => observed.push(o.result) },
    );
    await waitFor(async () => seen.length === 30 && (await redis.xlen(keys.webhooks)) === 0, {
      what: 'all 30 handled and deleted',
    });
    expect(new Set(seen).size).toBe(30);
    expect(observed.filter((r) => r === 'completed')).toHaveLength(30);
    expect(await log.backlog()).toEqual({ waiting: 0, active: 0 });
    // appended later: handled too
    await log.append(event(999), 'later');
    await waitFor(() => seen.includes(999), { what: 'the later delivery handled' });
  });

  it('shares the stream between two workers without handling an entry twice', async () => {
    const log = createWebhookLog(redis, keys);
    const seen: number[] = [];
    const handle = async (e: IntakeEvent) => {
      seen.push((e as Extract<IntakeEvent, { kind: 'deployment' }>).deploymentId!);
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    consume(handle, { concurrency: 3 });
    consume(handle, { concurrency: 3 });
    await Promise.all(Array.from({ length: 60 }, (_, i) => log.append(event(300 + i), `shared-${i}`)));
    await waitFor(() => seen.length >= 60, { what: '60 handled' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.length).toBe(60);
    expect(new Set(seen).size).toBe(60);
  });

  it(
    'retries an entry that failed after reclaimAfterMs, ' + 'and drops it (logged in full) after maxDeliveries',
    async () => {
      const log = createWebhookLog(redis, keys);
      await log.append(event(400), 'flaky');
      await log.append(event(401), 'broken');
      let flakyCalls = 0;
      let brokenCalls = 0;
      const { lines } = consume(
        async (e) => {
          const id = (e as Extract<IntakeEvent, { kind: 'deployment' }>).deploymentId!;
          if (id === 400 && ++flakyCalls < 2) throw new Error('Redis hiccup');
          if (id === 401) {
            brokenCalls += 1;
            throw new Error('always fails');
          }
        },
        { reclaimAfterMs: 100, maxDeliveries: 3 },
      );
      await waitFor(async () => brokenCalls === 3 && (await redis.xlen(keys.webhooks)) === 0, {
        what: 'flaky handled, broken dropped',
      });
      expect(flakyCalls).toBe(2);
      const dropped = lines.filter((l) => l.level === 'error' && /failed for good/.test(l.msg));
      expect(dropped).toHaveLength(1);
      expect(dropped[0]!.obj.event).toEqual(event(401));
      expect(lines.filter((l) => l.level === 'warn' && /will retry/.test(l.msg)).length).toBe(3);
    },
  );

  it('takes over the entries of a worker that died while handling them', async () => {
    const log = createWebhookLog(redis, keys);
    await redis.xgroup('CREATE', keys.webhooks, CONSUMER_GROUP, '0', 'MKSTREAM');
    await log.append(event(500), 'orphan-1');
    await log.append(event(501), 'orphan-2');
    // a worker that read both entries and died (never acknowledged them)
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'dead-worker', 'COUNT', 10, 'STREAMS', keys.webhooks, '>');
    const seen: number[] = [];
    const { lines } = consume(
      async (e) => void seen.push((e as Extract<IntakeEvent, { kind: 'deployment' }>).deploymentId!),
      { reclaimAfterMs: 200, forgetConsumersAfterMs: 100 },
    );
    await waitFor(async () => seen.length === 2 && (await redis.xlen(keys.webhooks)) === 0, {
      what: 'orphans handled',
    });
    expect(seen.sort()).toEqual([500, 501]);
    expect(lines.some((l) => /taken over/.test(l.msg))).toBe(true);
    // the dead worker, now with nothing pending, is forgotten
    await waitFor(
      async () => {
        const consumers = (await redis.xinfo('CONSUMERS', keys.webhooks, CONSUMER_GROUP)) as unknown[][];
        return !consumers.some((c) => c[1] === 'dead-worker');
      },
      { what: 'dead consumer removed' },
    );
  });

  it('creates the stream and group again when Redis lost them', async () => {
    const log = createWebhookLog(redis, keys);
    const seen: number[] = [];
    consume(async (e) => void seen.push((e as Extract<IntakeEvent, { kind: 'deployment' }>).deploymentId!));
    await log.append(event(600), 'before-loss');
    await waitFor(() => seen.includes(600), { what: 'first handled' });
    await redis.del(keys.webhooks);
    await log.append(event(601), 'after-loss');
    await waitFor(() => seen.includes(601), { what: 'handled after the stream was recreated' });
  });

  it('finishes and acknowledges the events in hand when closed, and leaves no consumer behind', async () => {
    const log = createWebhookLog(redis, keys);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: number[] = [];
    const finished: number[] = [];
    const { consumer } = consume(async (e) => {
      const id = (e as Extract<IntakeEvent, { kind: 'deployment' }>).deploymentId!;
      started.push(id);
      await gate;
      finished.push(id);
    });
    consumers.pop();
    await log.append(event(700), 'in-hand');
    await waitFor(() => started.length === 1, { what: 'handling started' });
    const closing = consumer.close();
    setTimeout(release, 50);
    await closing;
    expect(finished).toEqual([700]);
    expect(await redis.xlen(keys.webhooks)).toBe(0);
    const consumersLeft = (await redis.xinfo('CONSUMERS', keys.webhooks, CONSUMER_GROUP)) as unknown[][];
    expect(consumersLeft.map((c) => c[1])).not.toContain(consumer.name);
  });
});
