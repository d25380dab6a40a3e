import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time string comparison that also hides the length of the secret. */
export function secureEquals(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}
