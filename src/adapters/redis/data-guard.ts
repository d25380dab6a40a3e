import type { Redis } from 'ioredis';
import type { Clock, Logger } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

/** How long a data loss is remembered: deployments older than it may have cards greenlight has no record of. */
const REMEMBER_LOSS_S = 30 * 86_400;

/**
 * Notices that Redis lost greenlight's data (a FLUSH, a restart without persistence, a failover to an empty replica)
 * while the process lives: a marker key is created at start and checked every `everyMs` and whenever the connection
 * comes back. When it is gone, the marker and the time of the loss are written again and `onLoss` repairs what the
 * loss broke (the sweep's schedule, a sweep, the open cards in Slack).
 *
 * A marker missing at start cannot be told from a first start: it counts as a loss too (Redis and greenlight may have
 * restarted together, e.g. a machine reboot with a Redis that keeps nothing), so the same repair runs in the
 * background: cards of deployments older than the start are looked for in Slack before new ones are posted, and open
 * cards in the card channels are synced again. On a real first start that costs one history read per channel.
 */
export function createDataGuard(opts: {
  redis: Redis;
  keys: Keyspace;
  clock: Clock;
  logger: Logger;
  everyMs: number;
  onLoss(reason: string): Promise<void>;
}) {
  const { redis, keys, logger } = opts;
  let timer: NodeJS.Timeout | null = null;
  let checking: Promise<void> | null = null;
  let lost = false;

  /** true when the marker had to be created (it was missing) */
  const ensureMarker = async (): Promise<boolean> => {
    const created = await redis.set(keys.dataMarker, String(opts.clock.now()), 'NX');
    if (created === null) return false;
    await redis.set(keys.dataLostAt, String(opts.clock.now()), 'EX', REMEMBER_LOSS_S);
    return true;
  };

  /** `missing`: the marker is known to be gone already (recreated at start) */
  const check = (reason: string, missing = false) => {
    checking ??= (async () => {
      try {
        if (!missing && !(await ensureMarker())) return;
        logger.warn({ reason }, 'redis lost greenlight data; repairing schedules and cards');
        await opts.onLoss(reason);
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not check whether redis kept greenlight data');
      } finally {
        checking = null;
      }
    })();
    return checking;
  };
  const onClose = () => {
    lost = true;
  };
  const onReady = () => {
    if (!lost) return;
    lost = false;
    void check('redis reconnected');
  };

  return {
    /** Creates the marker (a missing one counts as a loss: see above) and starts watching. */
    async start(): Promise<void> {
      if (await ensureMarker()) {
        logger.info({}, 'no data marker in redis (first start, or the data was lost)');
        void check('no data marker at start', true);
      }
      redis.on('close', onClose);
      redis.on('ready', onReady);
      timer = setInterval(() => void check('periodic check'), opts.everyMs);
      timer.unref();
    },
    /** Checks now (tests, and whoever has a reason to suspect a loss). */
    check,
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      redis.off('close', onClose);
      redis.off('ready', onReady);
      await checking;
    },
  };
}
export type DataGuard = ReturnType<typeof createDataGuard>;

/** When Redis last lost greenlight's data, for the sync (core/cards/adopt-card.ts); null: never, or long ago. */
export function createLossMemory(redis: Redis, keys: Keyspace) {
  return {
    async lostAt(): Promise<number | null> {
      const value = await redis.get(keys.dataLostAt);
      return value === null ? null : Number(value);
    },
  };
}
