import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../core/ports.ts';
import type { RejectionLog } from '../http/rejection-log.ts';

/**
 * Bolt's Logger interface over our structured logger. With `rejections`, Bolt's line for each request whose
 * signature does not verify is sampled (a flood of forged requests costs a few lines).
 */
export function boltLogger(logger: Logger, rejections?: RejectionLog): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const msg = (parts: unknown[]) =>
    parts.map((p) => (p instanceof Error ? p.message : typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    debug: (...parts) => logger.debug({ component: 'bolt' }, msg(parts)),
    info: (...parts) => logger.info({ component: 'bolt' }, msg(parts)),
    warn: (...parts) => {
      const text = msg(parts);
      if (rejections && text.startsWith('Request verification failed'))
        rejections.note(
          'slack_signature',
          { component: 'bolt', reason: text },
          'slack request rejected: bad signature',
        );
      else logger.warn({ component: 'bolt' }, text);
    },
    error: (...parts) => logger.error({ component: 'bolt' }, msg(parts)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
