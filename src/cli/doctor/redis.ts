import type { Config } from '../../config/load.ts';
import { createRedis } from '../../adapters/redis/connection.ts';
import { fail, ok, redactUrl, warn, type Finding } from './report.ts';

/** Redis answers, and keeps what greenlight writes: noeviction, persistence, a recent enough version. */
export async function checkRedis(config: Config): Promise<Finding[]> {
  const where = redactUrl(config.redisUrl);
  const redis = createRedis({ url: config.redisUrl, mode: config.redisMode }, 'commands', {
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: 3_000,
  });
  let lastError: Error | null = null;
  redis.on('error', (error: Error) => {
    lastError = error; // reported below, with the failed command
  });
  try {
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      const reason =
        (lastError as (Error & { code?: string }) | null)?.code ??
        (lastError as Error | null)?.message ??
        (error as Error).message;
      return [
        fail(
          `Redis at ${where} does not answer (${reason})`,
          'start Redis or correct ' +
            `REDIS_URL${config.redisMode === 'cluster' ? ' (cluster seed nodes, comma-separated)' : ''}; ` +
            'with docker compose: docker compose up -d redis',
        ),
      ];
    }
    const findings: Finding[] = [];
    const server = parseInfo(await redis.info('server'));
    const version = server.redis_version ?? 'unknown';
    const [major = 0, minor = 0] = version.split('.').map(Number);
    findings.push(ok(`Redis ${version} at ${where} answers (${config.redisMode})`));
    if (major < 6 || (major === 6 && minor < 2))
      findings.push(fail(`Redis ${version} is too old for the queues`, 'use Redis 6.2 or newer (7.x recommended)'));
    if (config.redisMode === 'cluster') {
      const state = parseInfo(await redis.call('CLUSTER', 'INFO').then(String)).cluster_state;
      findings.push(
        state === 'ok'
          ? ok('the cluster reports cluster_state:ok')
          : fail(
              `the cluster reports cluster_state:${state ?? 'unknown'}`,
              'check the cluster (redis-cli --cluster check <node>): every slot must be served',
            ),
      );
    }
    const policy = await redis
      .config('GET', 'maxmemory-policy')
      .then((r) => (r as string[])[1])
      .catch(() => undefined);
    if (policy === undefined)
      findings.push(
        warn(
          'cannot read maxmemory-policy (CONFIG is disabled, as on most managed services)',
          'make sure the eviction policy is noeviction in the service settings: evicted queue keys lose jobs',
        ),
      );
    else if (policy !== 'noeviction')
      findings.push(
        fail(
          `maxmemory-policy is ${policy}: Redis may evict queue and card keys`,
          'set maxmemory-policy noeviction (redis.conf, or --maxmemory-policy noeviction)',
        ),
      );
    else findings.push(ok('maxmemory-policy is noeviction'));
    const persistence = parseInfo(await redis.info('persistence'));
    if (persistence.aof_enabled === '1') findings.push(ok('append-only file (AOF) persistence is on'));
    else
      findings.push(
        warn(
          'AOF persistence is off: a Redis restart loses queued jobs and card references since the last snapshot',
          'set appendonly yes (and appendfsync everysec), or use a managed Redis with persistence',
        ),
      );
    return findings;
  } finally {
    redis.disconnect();
  }
}

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}
