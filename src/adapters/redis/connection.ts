import { Redis, type RedisOptions } from 'ioredis';

/**
 * One place that opens Redis connections. BullMQ workers need maxRetriesPerRequest: null (they block);
 * everything else fails fast so that HTTP handlers can answer 503 instead of hanging.
 */
export function createRedis(url: string, purpose: 'commands' | 'bullmq', extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableReadyCheck: true,
    maxRetriesPerRequest: purpose === 'bullmq' ? null : 1,
    enableOfflineQueue: purpose === 'bullmq',
    connectTimeout: 5_000,
    // reconnect forever, backing off to 2 s: Redis restarts must not need a greenlight restart
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    ...extra,
  });
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
    /** a Slack user's GitLab link (oauth mode; tokens sealed) */
    identity: (teamId: string, userId: string) => `${base}:identity:${teamId}:${userId}`,
    /** lock held while one user's tokens are refreshed or rewritten (GitLab rotates both on refresh) */
    identityLock: (teamId: string, userId: string) => `${base}:identity-lock:${teamId}:${userId}`,
    slackOf: (gitlabUserId: number) => `${base}:slack-of:${gitlabUserId}`,
    /** a pending OAuth authorization (PKCE verifier), single use, 10 minutes */
    oauthState: (state: string) => `${base}:oauth-state:${state}`,
    /** stream of every decision attempt */
    audit: `${base}:audit`,
    /** people who want a DM when something waits for them; DMs sent per deployment; recent Home tab viewers */
    dmSubscribers: `${base}:personal:dm-on`,
    dms: (deploymentId: number) => `${base}:personal:dm:${deploymentId}`,
    homeAudience: `${base}:personal:home-opened`,
    nudge: (deploymentId: number) => `${base}:nudge:${deploymentId}`,
    pace: (channel: string) => `${base}:pace:${channel}`,
    paceTicket: (channel: string, ticket: string) => `${base}:pace-ticket:${channel}:${ticket}`,
    pattern: `${base}:*`,
  };
}
export type Keyspace = ReturnType<typeof keyspace>;
