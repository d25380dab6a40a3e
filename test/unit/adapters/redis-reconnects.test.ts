import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isUnreachable, levelOf, reconnectDelayMs, watchReconnects } from '../../../src/adapters/redis/connection.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';

const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:6379'), { code: 'ECONNREFUSED' });

describe('Redis reconnects', () => {
  it('backs off from 100 ms, doubling, to one attempt every 2 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50, 10_000].map(reconnectDelayMs)).toEqual([
      100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000, 2_000,
    ]);
  });

  it('tells an unreachable Redis from other Redis errors', () => {
    expect(isUnreachable(refused)).toBe(true);
    expect(isUnreachable(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isUnreachable(new Error('Connection is closed.'))).toBe(true);
    expect(isUnreachable(new Error('NOAUTH Authentication required.'))).toBe(false);
    expect(isUnreachable('ECONNREFUSED')).toBe(false);
    expect(levelOf(refused, 'error')).toBe('debug');
    expect(levelOf(new Error('WRONGPASS invalid username-password pair'), 'error')).toBe('error');
  });

  it('logs one line per attempt with the wait before the next, and one when Redis is back', () => {
    const logger = new CapturingLogger();
    const reconnects = watchReconnects(logger);
    const connection = new EventEmitter();
    reconnects.watch(connection as unknown as Redis);
    for (const attempt of [1, 2, 3]) {
      connection.emit('error', refused);
      reconnects.onRetry(attempt, reconnectDelayMs(attempt));
    }
    connection.emit('error', new Error('NOAUTH Authentication required.'));
    connection.emit('ready');
    connection.emit('ready');
    expect(
      logger.lines.map(({ level, msg, attempt, nextRetryMs, err }) => ({ level, msg, attempt, nextRetryMs, err })),
    ).toEqual([
      { level: 'warn', msg: 'redis unreachable; retrying', attempt: 1, nextRetryMs: 100, err: refused.message },
      { level: 'warn', msg: 'redis unreachable; retrying', attempt: 2, nextRetryMs: 200, err: refused.message },
      { level: 'warn', msg: 'redis unreachable; retrying', attempt: 3, nextRetryMs: 400, err: refused.message },
      {
        level: 'warn',
        msg: 'redis connection error',
        attempt: undefined,
        nextRetryMs: undefined,
        err: 'NOAUTH Authentication required.',
      },
      { level: 'info', msg: 'redis reachable again', attempt: undefined, nextRetryMs: undefined, err: undefined },
    ]);
  });
});
