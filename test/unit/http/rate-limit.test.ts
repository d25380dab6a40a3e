import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { perIpRateLimit } from '../../../src/entrypoints/http/rate-limit.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';

function harness(rule: { perSecond: number; burst: number }, exempt?: (req: Request) => boolean) {
  let now = 1_000_000;
  const logger = new CapturingLogger();
  const limit = perIpRateLimit('test', rule, logger, () => now, exempt);
  const hit = (ip: string, token?: string) => {
    let status = 200;
    const headers: Record<string, string> = {};
    const res = {
      set(name: string, value: string) {
        headers[name] = value;
        return res;
      },
      status(code: number) {
        status = code;
        return res;
      },
      json() {
        return res;
      },
    } as unknown as Response;
    let passed = false;
    limit({ ip, token } as unknown as Request, res, (() => void (passed = true)) as NextFunction);
    return { passed, status, retryAfter: headers['Retry-After'] };
  };
  return { hit, logger, advance: (ms: number) => void (now += ms) };
}

describe('perIpRateLimit', () => {
  it('lets a burst through, then answers 429 with Retry-After, per address', async () => {
    const h = harness({ perSecond: 2, burst: 3 });
    expect([1, 2, 3].map(() => h.hit('10.0.0.1').passed)).toEqual([true, true, true]);
    const limited = h.hit('10.0.0.1');
    expect(limited).toMatchObject({ passed: false, status: 429, retryAfter: '1' });
    expect(h.hit('10.0.0.2').passed).toBe(true);
  });

  it('refills at the configured rate', () => {
    const h = harness({ perSecond: 2, burst: 2 });
    h.hit('a');
    h.hit('a');
    expect(h.hit('a').passed).toBe(false);
    h.advance(500);
    expect(h.hit('a').passed).toBe(true);
    expect(h.hit('a').passed).toBe(false);
  });

  it('neither counts nor limits exempt requests', () => {
    const h = harness({ perSecond: 1, burst: 2 }, (req) => (req as unknown as { token?: string }).token === 'secret');
    expect(Array.from({ length: 10 }, () => h.hit('10.0.0.1', 'secret').passed).every(Boolean)).toBe(true);
    expect([h.hit('10.0.0.1').passed, h.hit('10.0.0.1').passed, h.hit('10.0.0.1').passed]).toEqual([true, true, false]);
    expect(h.hit('10.0.0.1', 'secret').passed).toBe(true);
  });

  it('logs a flood once per address and minute, not once per request', () => {
    const h = harness({ perSecond: 1, burst: 1 });
    for (let i = 0; i < 50; i += 1) h.hit('203.0.113.9');
    expect(h.logger.lines.filter((l) => l.msg === 'rate limit reached; answering 429')).toHaveLength(1);
    h.advance(61_000);
    for (let i = 0; i < 50; i += 1) h.hit('203.0.113.9');
    expect(h.logger.lines.filter((l) => l.msg === 'rate limit reached; answering 429')).toHaveLength(2);
  });
});
