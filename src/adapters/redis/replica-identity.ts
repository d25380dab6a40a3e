import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

/**
 * The name this process works under: its webhook-stream consumer name and the owner of the jobs it runs. A stable
 * name (REPLICA_ID, e.g. the pod name) lets a restarted replica find what it left unfinished and resume it at once.
 *
 * Two live processes must never share a name (each would take the other's running work back), so a stable name is
 * held with a short lease, renewed while the process lives. A restarted replica finds its dead predecessor's lease
 * and waits for it to run out (at most `leaseMs`, less the time the restart took). When it is still renewed after
 * that, another live process has the name: this one runs under a new name of its own, and its unfinished work, like
 * everybody's without a stable name, is taken over after WORKER_STALL_TIMEOUT.
 */
export type ReplicaIdentity = {
  name: string;
  /** true when `name` is the configured REPLICA_ID (a restart will find this process's unfinished work) */
  stable: boolean;
  /** Gives the name back (graceful stop): the next process with it starts without waiting. */
  release(): Promise<void>;
};

export const REPLICA_LEASE_MS = 3_000;

/** Renews the lease while this process holds it; takes it again when it ran out (e.g. during a Redis outage). */
const RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export async function claimReplicaIdentity(opts: {
  redis: Redis;
  keys: Keyspace;
  replicaId: string | null;
  logger: Logger;
  leaseMs?: number;
}): Promise<ReplicaIdentity> {
  const { redis, keys, logger } = opts;
  const leaseMs = opts.leaseMs ?? REPLICA_LEASE_MS;
  const ephemeral = (): ReplicaIdentity => ({
    name: `${hostname().slice(0, 60)}-${process.pid}-${randomBytes(3).toString('hex')}`,
    stable: false,
    release: async () => undefined,
  });
  if (!opts.replicaId) return ephemeral();
  const name = opts.replicaId;
  const key = keys.replicaLease(name);
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + leaseMs + 500;
  try {
    let waited = false;
    while ((await redis.set(key, token, 'PX', leaseMs, 'NX')) === null) {
      if (Date.now() > deadline) {
        logger.warn(
          { replicaId: name },
          'another live process runs as this REPLICA_ID; this one runs under a name of its own ' +
            '(give every replica its own REPLICA_ID)',
        );
        return ephemeral();
      }
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (waited) logger.info({ replicaId: name }, 'the previous process of this replica is gone; taking over its name');
  } catch (error) {
    logger.warn(
      { replicaId: name, err: (error as Error).message },
      'could not claim REPLICA_ID; running under a name of its own',
    );
    return ephemeral();
  }
  const renew = setInterval(
    () => {
      redis.eval(RENEW, 1, key, token, String(leaseMs)).then(
        (held) => {
          if (Number(held) !== 1) logger.error({ replicaId: name }, 'another process took over this REPLICA_ID');
        },
        () => undefined, // Redis unreachable: said by the connection's own retry lines
      );
    },
    Math.floor(leaseMs / 3),
  );
  renew.unref();
  return {
    name,
    stable: true,
    async release() {
      clearInterval(renew);
      await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    },
  };
}
