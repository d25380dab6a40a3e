import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';
import type { IntakeEvent } from '../../core/intake/intake-event.ts';
import { mapLimit } from '../../lib/map-limit.ts';
import type { Keyspace } from '../redis/connection.ts';

/**
 * GitLab's webhook deliveries travel from the web role to the workers through one Redis stream, read by a
 * consumer group. A delivery is one small script (remember its key, append the event): GitLab waits for the
 * answer, and a BullMQ job per delivery (a job hash, an id counter, a wait list, an event stream) cost the web
 * role twice the CPU and Redis three times the work (BENCHMARKS.md). What the workers do with an event only asks
 * for more jobs (a sync, a scan), so they read the stream directly:
 * - an entry is acknowledged and deleted once handled, so the stream holds only what is not handled yet;
 * - an entry whose consumer died or failed is taken over after `reclaimAfterMs` by any worker;
 * - an entry that failed `maxDeliveries` times is logged in full and dropped (the sweep still finds its deployment).
 */

/** How long a delivery's key is remembered: GitLab's "Resend request" repeats its Idempotency-Key. */
export const DELIVERY_MEMORY_SECONDS = 86_400;
export const CONSUMER_GROUP = 'greenlight';

const APPEND = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'event', ARGV[2], 'delivery', ARGV[3])
  return 1
end
return 0`;

type AppendingRedis = Redis & {
  greenlightAppendWebhook(
    seenKey: string,
    stream: string,
    ttl: number,
    event: string,
    deliveryKey: string,
  ): Promise<number>;
};

export type WebhookLog = {
  /** 'duplicate' when the same delivery key was appended in the last DELIVERY_MEMORY_SECONDS */
  append(event: IntakeEvent, deliveryKey: string): Promise<'queued' | 'duplicate'>;
  /** entries not handled yet: waiting for a worker, and being handled (or left by a worker that died) */
  backlog(): Promise<{ waiting: number; active: number }>;
};

export function createWebhookLog(connection: Redis, keys: Keyspace): WebhookLog {
  const redis = connection as AppendingRedis;
  if (typeof redis.greenlightAppendWebhook !== 'function')
    redis.defineCommand('greenlightAppendWebhook', { numberOfKeys: 2, lua: APPEND });
  const batchWrites = batchWritesThisTurn(connection);
  return {
    async append(event, deliveryKey) {
      batchWrites();
      const added = await redis.greenlightAppendWebhook(
        keys.webhookSeen(deliveryKey),
        keys.webhooks,
        DELIVERY_MEMORY_SECONDS,
        JSON.stringify(event),
        deliveryKey,
      );
      return added === 1 ? 'queued' : 'duplicate';
    },
    async backlog() {
      const [length, pending] = await Promise.all([
        connection.xlen(keys.webhooks),
        // no group yet: no worker has started; everything is waiting
        (connection.xpending(keys.webhooks, CONSUMER_GROUP) as Promise<[number, ...unknown[]]>).then(
          (summary) => Number(summary[0]),
          () => 0,
        ),
      ]);
      return { waiting: Math.max(0, length - pending), active: pending };
    },
  };
}

/**
 * Holds the connection's writes until the end of this event-loop turn, so that the commands of every webhook read
 * in the same turn leave in one write (writev) instead of one system call each.
 */
export function batchWritesThisTurn(connection: Redis): () => void {
  let held = false;
  return () => {
    const stream = (connection as { stream?: Writable }).stream;
    if (held || !stream || connection.status !== 'ready') return;
    held = true;
    stream.cork();
    setImmediate(() => {
      held = false;
      stream.uncork();
    });
  };
}

export type WebhookConsumerOptions = {
  /** a connection of its own: reads block on it (closed by close()) */
  connection: Redis;
  /** a shared connection for everything but the blocking read */
  commands: Redis;
  keys: Keyspace;
  handle(event: IntakeEvent, log: Logger): Promise<void>;
  logger: Logger;
  /** events handled at once */
  concurrency?: number;
  /** an entry unacknowledged for this long (its worker died, or it failed) is taken over */
  reclaimAfterMs?: number;
  maxDeliveries?: number;
  /** how long one blocking read waits for new entries */
  blockMs?: number;
  /** consumers (of other processes) idle this long with nothing pending are removed from the group */
  forgetConsumersAfterMs?: number;
  /** each handled (or dropped) entry: for /metrics */
  observe?(outcome: { result: 'completed' | 'retried' | 'failed'; waitMs: number; ms: number }): void;
};

export type WebhookConsumer = { name: string; close(): Promise<void> };

type Entry = [id: string, fields: string[]];

/** Milliseconds since the entry was appended (stream ids start with the time Redis added them). */
function ageOf(id: string): number {
  return Math.max(0, Date.now() - Number(id.slice(0, id.indexOf('-'))));
}

function decode(fields: string[]): { event: IntakeEvent; deliveryKey: string } | null {
  const at = (name: string) => {
    const i = fields.indexOf(name);
    return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
  };
  const raw = at('event');
  if (raw === undefined) return null;
  try {
    return { event: JSON.parse(raw) as IntakeEvent, deliveryKey: at('delivery') ?? '' };
  } catch {
    return null;
  }
}

export function startWebhookConsumer(opts: WebhookConsumerOptions): WebhookConsumer {
  const { connection: reader, commands: redis, keys, logger } = opts;
  const stream = keys.webhooks;
  const concurrency = opts.concurrency ?? 20;
  const reclaimAfterMs = opts.reclaimAfterMs ?? 15_000;
  const maxDeliveries = opts.maxDeliveries ?? 8;
  const blockMs = opts.blockMs ?? 2_000;
  const forgetAfterMs = opts.forgetConsumersAfterMs ?? 3_600_000;
  const name = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = logger.child({ queue: 'intake', consumer: name });
  let running = true;
  let groupReady = false;
  let lastReclaim = 0;
  let handling: Promise<void> = Promise.resolve();

  const ensureGroup = async () => {
    // From the start of the stream: deliveries appended before any worker ran are handled too.
    await reader.xgroup('CREATE', stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch((error: Error) => {
      if (!/BUSYGROUP/.test(error.message)) throw error;
    });
    groupReady = true;
  };

  const finish = async (ids: string[]) => {
    if (ids.length === 0) return;
    await redis
      .pipeline()
      .xack(stream, CONSUMER_GROUP, ...ids)
      .xdel(stream, ...ids)
      .exec();
  };

  const handleEntries = async (entries: Entry[], delivered: Map<string, number> = new Map()) => {
    const done: string[] = [];
    await mapLimit(entries, concurrency, async ([id, fields]) => {
      const decoded = decode(fields);
      if (!decoded) {
        log.error({ id, fields: fields.slice(0, 8) }, 'webhook event unreadable; dropped');
        done.push(id);
        return;
      }
      const waitMs = ageOf(id);
      const started = Date.now();
      const entryLog = log.child({ entry: id, deliveryKey: decoded.deliveryKey });
      try {
        await opts.handle(decoded.event, entryLog);
        done.push(id);
        const ms = Date.now() - started;
        opts.observe?.({ result: 'completed', waitMs, ms });
        entryLog.debug({ jobId: id, ms }, 'job completed');
      } catch (error) {
        const attempts = delivered.get(id) ?? 1;
        const final = attempts >= maxDeliveries;
        opts.observe?.({ result: final ? 'failed' : 'retried', waitMs, ms: Date.now() - started });
        if (final) {
          entryLog.error(
            { err: (error as Error).message, attempts, event: decoded.event },
            'webhook event failed for good; dropped (the next sweep still finds its deployment)',
          );
          done.push(id);
        } else {
          entryLog.warn(
            { err: (error as Error).message, attempts, retryInMs: reclaimAfterMs },
            'webhook event failed; will retry',
          );
        }
      }
    });
    await finish(done);
  };

  /** Entries left unacknowledged for reclaimAfterMs (a dead worker's, or failed ones) are taken over here. */
  const reclaim = async () => {
    const pending = (await redis.xpending(stream, CONSUMER_GROUP, 'IDLE', reclaimAfterMs, '-', '+', 100)) as [
      string,
      string,
      number,
      number,
    ][];
    if (pending.length === 0) return;
    const claimed = (await redis.xclaim(
      stream,
      CONSUMER_GROUP,
      name,
      reclaimAfterMs,
      ...pending.map(([id]) => id),
    )) as (Entry | null)[];
    const entries = claimed.filter((e): e is Entry => Array.isArray(e) && Array.isArray(e[1]));
    // XCLAIM counted this delivery too
    const delivered = new Map(pending.map(([id, , , count]) => [id, Number(count) + 1]));
    // Claimed ids whose entry is gone (deleted meanwhile) only need acknowledging.
    const present = new Set(entries.map(([id]) => id));
    const gone = pending.map(([id]) => id).filter((id) => !present.has(id));
    if (gone.length) await redis.xack(stream, CONSUMER_GROUP, ...gone);
    if (entries.length)
      log.info({ entries: entries.length }, 'webhook events taken over from a stopped or failed worker');
    await handleEntries(entries, delivered);
  };

  /** Consumers of processes long gone, with nothing pending, are forgotten (each process start adds one). */
  const forgetIdleConsumers = async () => {
    const consumers = (await redis.xinfo('CONSUMERS', stream, CONSUMER_GROUP)) as unknown[][];
    for (const fields of consumers) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
      if (info.get('name') !== name && Number(info.get('pending')) === 0 && Number(info.get('idle')) > forgetAfterMs) {
        await redis.xgroup('DELCONSUMER', stream, CONSUMER_GROUP, String(info.get('name')));
      }
    }
  };

  const loop = (async () => {
    let failing = false;
    while (running) {
      try {
        if (!groupReady) await ensureGroup();
        if (Date.now() - lastReclaim >= reclaimAfterMs / 2) {
          lastReclaim = Date.now();
          handling = reclaim();
          await handling;
          await forgetIdleConsumers();
        }
        const read = (await reader.xreadgroup(
          'GROUP',
          CONSUMER_GROUP,
          name,
          'COUNT',
          concurrency * 5,
          'BLOCK',
          blockMs,
          'STREAMS',
          stream,
          '>',
        )) as [string, Entry[]][] | null;
        const entries = read?.[0]?.[1] ?? [];
        if (entries.length > 0 && running) {
          handling = handleEntries(entries);
          await handling;
        }
        if (failing) log.info({}, 'webhook events are read again');
        failing = false;
      } catch (error) {
        if (!running) break;
        // The stream or its group vanished (Redis lost its data, or someone deleted them): create them again.
        if (/NOGROUP/.test((error as Error).message)) groupReady = false;
        if (!failing) log.warn({ err: (error as Error).message }, 'webhook events cannot be read; retrying');
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();

  return {
    name,
    async close() {
      running = false;
      // Events being handled are finished and acknowledged; a read still waiting is cut short (what it would
      // have returned stays pending and is taken over by another worker).
      await handling.catch(() => {});
      // Nothing left pending here: this consumer can go (with something pending it stays, so others take it over).
      const mine = (await redis.xpending(stream, CONSUMER_GROUP, '-', '+', 1, name).catch(() => [null])) as unknown[];
      if (mine.length === 0) await redis.xgroup('DELCONSUMER', stream, CONSUMER_GROUP, name).catch(() => {});
      reader.disconnect();
      await loop;
    },
  };
}
