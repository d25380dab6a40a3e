import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Digests of the expected secrets (a handful, fixed at start): one hash per comparison instead of two. */
const expectedDigests = new Map<string, Buffer>();

function digestOfExpected(expected: string): Buffer {
  let digest = expectedDigests.get(expected);
  if (!digest) {
    digest = sha256(expected);
    if (expectedDigests.size < 32) expectedDigests.set(expected, digest);
  }
  return digest;
}

/** Constant-time string comparison that also hides the length of the secret. */
export function secureEquals(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(sha256(given), digestOfExpected(expected)) && given.length === expected.length;
}
