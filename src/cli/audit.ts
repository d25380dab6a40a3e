import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { parseDuration } from '../config/duration.ts';
import { createAuditLog } from '../adapters/redis/audit-log.ts';
import { createRedis, keyspace } from '../adapters/redis/connection.ts';
import type { CliIo } from './io.ts';

const USAGE = `usage: audit [--since 24h|<ISO time>] [--until <duration>|<ISO time>] [--limit 10000]
Prints every decision attempt in the audit trail as JSON lines, oldest first.
  --since  start: a duration back from now (30m, 24h, 7d) or a time (2026-01-31T09:00:00Z); default 24h
  --until  end (inclusive), same forms; default now
  --limit  at most this many entries; default 10000`;

/** A duration back from `now`, or an absolute time; null when it is neither. */
function parseTime(text: string, now: number): number | null {
  const duration = parseDuration(text);
  if (duration !== null) return now - duration;
  const at = Date.parse(text);
  return Number.isFinite(at) ? at : null;
}

/**
 * `audit --since 24h`: reads the audit stream with the service's configuration (loadConfig(env)) and
 * prints one JSON object per line. Returns the process exit code.
 */
export async function auditCommand(argv: string[], io: CliIo): Promise<number> {
  const err = io.err;
  let values: { since?: string; until?: string; limit?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        limit: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    err(`audit: ${(error as Error).message}`);
    err(USAGE);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const now = Date.now();
  const sinceMs = parseTime(values.since ?? '24h', now);
  const untilMs = values.until === undefined ? undefined : parseTime(values.until, now);
  const limit = values.limit === undefined ? 10_000 : Number(values.limit);
  if (sinceMs === null || untilMs === null || !Number.isInteger(limit) || limit < 1) {
    err(
      'audit: --since and --until take a duration (24h) or a time ' +
        '(2026-01-31T09:00:00Z); --limit a positive whole number',
    );
    err(USAGE);
    return 2;
  }

  let config;
  try {
    config = loadConfig(io.env, undefined, { envFile: io.envFile });
  } catch (error) {
    if (error instanceof ConfigError) {
      err(error.message);
      return 78;
    }
    throw error;
  }
  const redis = createRedis(config.redisUrl, 'commands', { enableOfflineQueue: true });
  redis.on('error', () => undefined); // reported once below, when the read fails
  try {
    const entries = await createAuditLog(redis, keyspace(config.redisPrefix)).read({
      sinceMs,
      ...(untilMs !== undefined && { untilMs }),
      limit,
    });
    for (const entry of entries) io.out(JSON.stringify(entry));
    return 0;
  } catch (error) {
    err(`audit: could not read the audit trail from Redis: ${(error as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
