import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../core/ports.ts';

/**
 * Where Redis is. `standalone`: url is one redis:// or rediss:// URL. `cluster`: url lists one or more seed
 * nodes separated by commas (a managed service's configuration endpoint is enough); user, password and TLS
 * (rediss://) come from the first URL.
 */
export type RedisTarget = { url: string; mode: 'standalone' | 'cluster' };

/**
 * One place that opens Redis connections. BullMQ workers need maxRetriesPerRequest: null (they block);
 * everything else fails fast so that HTTP handlers can answer 503 instead of hanging.
 */
export function createRedis(
  target: string | RedisTarget,
  purpose: 'commands' | 'bullmq',
  extra: RedisOptions = {},
  /** each reconnect attempt, with the wait before it (see watchReconnects) */
  onRetry?: (attempt: number, delayMs: number) => void,
): Redis {
  const { url, mode } = typeof target === 'string' ? { url: target, mode: 'standalone' as const } : target;
  const options = {
    lazyConnect: false,
    enableReadyCheck: true,
    maxRetriesPerRequest: purpose === 'bullmq' ? null : 1,
    enableOfflineQueue: purpose === 'bullmq',
    connectTimeout: 5_000,
    // reconnect forever, backing off to 2 s: Redis restarts must not need a greenlight restart
    retryStrategy: (times: number) => {
      const delayMs = reconnectDelayMs(times);
      onRetry?.(times, delayMs);
      return delayMs;
    },
    ...extra,
  } satisfies RedisOptions;
  if (mode === 'standalone') return new Redis(url, options);
  return createCluster(url, options) as unknown as Redis;
}

/** 100 ms, 200 ms, 400 ms ... then every 2 s: Redis coming back is noticed within 2 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 10), 2_000);
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * An error that only says Redis cannot be reached right now. While that lasts, the commands connection says so in one
 * line per reconnect attempt (watchReconnects); every other connection, queue and worker logs such errors at debug,
 * instead of a line each per attempt.
 */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/.test(
    error.message,
  );
}

/** The level for a Redis error: debug when it only says Redis is unreachable (see isUnreachable), else `level`. */
export function levelOf(error: unknown, level: 'warn' | 'error'): 'debug' | 'warn' | 'error' {
  return isUnreachable(error) ? 'debug' : level;
}

/**
 * One JSON line per reconnect attempt of one connection (the process's commands connection stands for all: they
 * reach the same Redis), with the attempt and the wait before the next one; one line when it is back.
 * Pass `onRetry` to createRedis and `watch` the connection it returned.
 */
export function watchReconnects(logger: Logger) {
  let lastError = '';
  let attempts = 0;
  return {
    onRetry(attempt: number, nextRetryMs: number) {
      attempts = attempt;
      logger.warn({ attempt, nextRetryMs, err: lastError }, 'redis unreachable; retrying');
    },
    watch(redis: Redis) {
      redis.on('error', (error: Error) => {
        lastError = error.message;
        if (!isUnreachable(error))
          logger.warn({ connection: 'commands', err: error.message }, 'redis connection error');
      });
      redis.on('ready', () => {
        if (attempts > 0) logger.info({ attempts }, 'redis reachable again');
        attempts = 0;
      });
    },
  };
}

/**
 * A Redis Cluster client. Every key greenlight writes carries the {prefix} hash tag, so Lua scripts,
 * MULTI and BullMQ's multi-key commands stay within one slot. ioredis' Cluster speaks the same command
 * interface as Redis, which is why it is handed out under that type: callers never need to know.
 */
function createCluster(urls: string, options: RedisOptions): Cluster {
  const seeds = urls
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
    .map((u) => new URL(u));
  const first = seeds[0];
  if (!first) throw new Error('REDIS_URL lists no cluster node');
  const tls = first.protocol === 'rediss:';
  const { retryStrategy, enableOfflineQueue, lazyConnect, enableReadyCheck, ...perNode } = options;
  return new Cluster(
    seeds.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      lazyConnect,
      enableReadyCheck,
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      // TLS endpoints of managed clusters must be reached by name so that certificates match
      ...(tls && {
        dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address),
      }),
      redisOptions: {
        ...perNode,
        ...(first.username && { username: decodeURIComponent(first.username) }),
        ...(first.password && { password: decodeURIComponent(first.password) }),
        ...(tls && { tls: {} }),
      },
    },
  );
}

/** Keys share one hash slot ({prefix}) so greenlight also runs on Redis Cluster. */
export function keyspace(prefix: string) {
  const base = `{${prefix}}`;
  return {
    bullPrefix: base,
    card: (deploymentId: number) => `${base}:card:${deploymentId}`,
    openCards: `${base}:cards:open`,
    latestDeployment: (projectId: number, environmentId: number) => `${base}:env:${projectId}:${environmentId}:latest`,
    knownProjects: `${base}:projects:seen`,
    /** path, name and web URL of projects, by id, from group listings and project reads (project-directory.ts) */
    projectInfo: `${base}:projects:info`,
    /** ids of `projects:` paths of the policy file, resolved once */
    projectIds: `${base}:projects:ids`,
    /** every project of the policy's groups and `projects:` at the last full listing; the listing in progress */
    sweepListed: `${base}:sweep:listed`,
    sweepListing: `${base}:sweep:listing`,
    /** exists while the last full listing is fresh (expires after `sweep.list_every`) */
    sweepListedFresh: `${base}:sweep:listed-fresh`,
    /** projects with protected environments that require approvals (or whose protection could not be read) */
    sweepCanBlock: `${base}:sweep:can-block`,
    /** when each project's protected environments were last read (sorted set, ms) */
    sweepClassified: `${base}:sweep:classified`,
    /** whether a group has group-level protected environments that require approvals ('1' / '0', expiring) */
    groupApprovals: (groupPath: string) => `${base}:group-approvals:${Buffer.from(groupPath).toString('base64url')}`,
    /** set while a project's deployment hooks report blocked deployments (GitLab 19.3+), see processIntake */
    projectReportsBlocked: (projectId: number) => `${base}:project:${projectId}:reports-blocked`,
    /** a Slack user's GitLab link (oauth mode; tokens sealed) */
    identity: (teamId: string, userId: string) => `${base}:identity:${teamId}:${userId}`,
    /** lock held while one user's tokens are refreshed or rewritten (GitLab rotates both on refresh) */
    identityLock: (teamId: string, userId: string) => `${base}:identity-lock:${teamId}:${userId}`,
    slackOf: (gitlabUserId: number) => `${base}:slack-of:${gitlabUserId}`,
    /** a pending OAuth authorization (PKCE verifier), single use, 10 minutes */
    oauthState: (state: string) => `${base}:oauth-state:${state}`,
    /** the one OAuth state a Slack user has pending (a new link request replaces it) */
    oauthPending: (teamId: string, userId: string) => `${base}:oauth-pending:${teamId}:${userId}`,
    /** stream of every decision attempt */
    audit: `${base}:audit`,
    /** people who want a DM when something waits for them; DMs sent per deployment; recent Home tab viewers */
    dmSubscribers: `${base}:personal:dm-on`,
    dms: (deploymentId: number) => `${base}:personal:dm:${deploymentId}`,
    homeAudience: `${base}:personal:home-opened`,
    nudge: (deploymentId: number) => `${base}:nudge:${deploymentId}`,
    /** GitLab's request budget of one token (keyed by a hash of it, see gitlab-budget.ts), and its shared pause */
    gitlabBudget: (tokenKey: string, bucket: string) => `${base}:gitlab-budget:${tokenKey}:${bucket}`,
    gitlabPause: (tokenKey: string) => `${base}:gitlab-budget:${tokenKey}:paused`,
    pace: (channel: string) => `${base}:pace:${channel}`,
    paceTicket: (channel: string, ticket: string) => `${base}:pace-ticket:${channel}:${ticket}`,
    /** exists while Redis keeps greenlight's data: created at start, its absence later means the data was lost */
    dataMarker: `${base}:data-marker`,
    /** when greenlight last found its data lost: cards of deployments older than this are looked for in Slack */
    dataLostAt: `${base}:data-lost-at`,
    /** the commits and merge requests between two deployed shas (src/adapters/redis/changes-store.ts) */
    changes: (projectId: number, from: string, to: string) => `${base}:changes:${projectId}:${from}..${to}`,
    /** held by the live process of a replica (REPLICA_ID), see replica-identity.ts */
    replicaLease: (replicaId: string) => `${base}:replica:${replicaId}:lease`,
    /** the jobs a replica is running, with their lock tokens, see reclaim.ts */
    replicaJobs: (replicaId: string) => `${base}:replica:${replicaId}:jobs`,
    pattern: `${base}:*`,
  };
}
export type Keyspace = ReturnType<typeof keyspace>;

/** Resolves once the connection can take commands (a fail-fast connection refuses them until then). */
export function whenReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}
