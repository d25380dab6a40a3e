import { describe, expect, it } from 'vitest';
import { secureEquals } from '../../../src/lib/secure-compare.ts';

describe('secureEquals', () => {
  const secret = 'webhook-secret-0123456789abcdef';

  it('accepts only the exact secret', () => {
    expect(secureEquals(secret, secret)).toBe(true);
    for (const other of ['', secret.slice(0, -1), `${secret}x`, secret.toUpperCase(), ` ${secret}`, 'x'.repeat(10_000)])
      expect(secureEquals(other, secret)).toBe(false);
  });

  it('treats a missing header as a mismatch instead of throwing', () => {
    expect(secureEquals(undefined, secret)).toBe(false);
    expect(secureEquals(null, secret)).toBe(false);
  });

  it('compares fixed-size digests, so inputs of any length reach timingSafeEqual without throwing', () => {
    // timingSafeEqual throws on buffers of different lengths; hashing first is what keeps the length hidden.
    expect(() => secureEquals('a', 'a much longer secret than this')).not.toThrow();
  });

  it('keeps every expected secret apart (digests of expected secrets are remembered, a bounded number of them)', () => {
    const secrets = Array.from({ length: 40 }, (_, i) => `secret-number-${i}-0123456789`);
    for (let round = 0; round < 2; round += 1) {
      for (const [i, expected] of secrets.entries()) {
        expect(secureEquals(expected, expected)).toBe(true);
        expect(secureEquals(secrets[(i + 1) % secrets.length], expected)).toBe(false);
      }
    }
  });
});
