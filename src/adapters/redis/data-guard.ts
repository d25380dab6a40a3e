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
/**
 * KEYS[1] marker, KEYS[2] time of the loss; ARGV now (ms), how long the loss is remembered (s). Creates the marker
 * and, only then, the time of the loss, in one step: whoever sees the marker also sees the time of the loss.
 */
const ENSURE_MARKER = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', tonumber(ARGV[2]))
  return 1
end
return 0
`;

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
  let checking: Promise<boolean> | null = null;
  let repairing: Promise<void> | null = null;
  /** a loss noticed while the repair of an earlier one runs: repaired again once that one is done */
  let again: string | null = null;
  let lost = false;

  /** true when the marker had to be created (it was missing) */
  const ensureMarker = async (): Promise<boolean> =>
    (await redis.eval(
      ENSURE_MARKER,
      2,
      keys.dataMarker,
      keys.dataLostAt,
      String(opts.clock.now()),
      String(REMEMBER_LOSS_S),
    )) === 1;

  const repair = (reason: string): void => {
    if (repairing) {
      again = reason;
      return;
    }
    const current = opts
      .onLoss(reason)
      .catch((error: unknown) => {
        logger.warn({ err: (error as Error).message }, 'could not repair after redis lost greenlight data');
      })
      .finally(() => {
        if (repairing === current) repairing = null;
        const next = again;
        again = null;
        if (next !== null) repair(next);
      });
    repairing = current;
  };

  /**
   * Resolves once the marker is there again, true when it was missing (the repair then runs in the background).
   * `missing`: the marker is known to be gone already (recreated at start).
   */
  const check = (reason: string, missing = false): Promise<boolean> => {
    if (checking) return checking;
    const run = async () => {
      try {
        if (!missing && !(await ensureMarker())) return false;
        logger.warn({ reason }, 'redis lost greenlight data; repairing schedules and cards');
        repair(reason);
        return true;
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not check whether redis kept greenlight data');
        return false;
      }
    };
    // cleared once settled (a run without an await settles before `checking` is even set)
    const current = run().finally(() => {
      if (checking === current) checking = null;
    });
    checking = current;
    return current;
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
    /**
     * When Redis last lost greenlight's data, for the sync (core/cards/sync-card.ts); null: never, or long ago.
     * The marker is looked at first: a loss not noticed yet (the periodic check comes later) is noticed now, so
     * that a sync right after a loss looks for the card in Slack instead of posting a second one.
     */
    async lostAt(): Promise<number | null> {
      const [marker, at] = await redis.mget(keys.dataMarker, keys.dataLostAt);
      if (marker !== null) return at === null ? null : Number(at);
      await check('a card sync found no data marker');
      const value = await redis.get(keys.dataLostAt);
      return value === null ? null : Number(value);
    },
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      redis.off('close', onClose);
      redis.off('ready', onReady);
      await checking;
      again = null;
      await repairing;
    },
  };
}
export type DataGuard = ReturnType<typeof createDataGuard>;
