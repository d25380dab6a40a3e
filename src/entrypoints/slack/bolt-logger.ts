import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../core/ports.ts';

/** Bolt's Logger interface over our structured logger. */
export function boltLogger(logger: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const msg = (parts: unknown[]) =>
    parts.map((p) => (p instanceof Error ? p.message : typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    debug: (...parts) => logger.debug({ component: 'bolt' }, msg(parts)),
    info: (...parts) => logger.info({ component: 'bolt' }, msg(parts)),
    warn: (...parts) => logger.warn({ component: 'bolt' }, msg(parts)),
    error: (...parts) => logger.error({ component: 'bolt' }, msg(parts)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
