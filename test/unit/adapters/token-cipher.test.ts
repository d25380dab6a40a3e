import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { createLinkStart } from '../../../src/adapters/identity/link-start.ts';
import { createTokenCipher, SealError, type CipherKey } from '../../../src/adapters/identity/token-cipher.ts';
import { KEY_A, KEY_B } from '../../helpers/oauth.ts';

/** Keys exactly as loadConfig derives them from TOKEN_ENCRYPTION_KEY (id = hash prefix). */
function keysFrom(value: string): readonly CipherKey[] {
  return loadConfig({
    GITLAB_TOKEN: 't',
    GITLAB_WEBHOOK_SECRET: '0123456789abcdef',
    GITLAB_AUTH_MODE: 'sudo',
    SLACK_BOT_TOKEN: 'xoxb-1',
    SLACK_SIGNING_SECRET: 's',
    SLACK_CHANNEL: 'C1',
    TOKEN_ENCRYPTION_KEY: value,
  }).encryptionKeys;
}

const SECRET = JSON.stringify({ a: 'access-token-value', r: 'refresh-token-value' });
const ALICE = 'T0001:U0456ALICE';

function flip(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('token cipher (AES-256-GCM, key id, rotation)', () => {
  const cipher = createTokenCipher(keysFrom(KEY_A));

  it('opens what it sealed, and never stores the plaintext', () => {
    const sealed = cipher.seal(SECRET, ALICE);
    expect(sealed).not.toContain('access-token-value');
    expect(sealed.split('.')).toHaveLength(5);
    expect(sealed.startsWith(`v1.${cipher.currentKeyId}.`)).toBe(true);
    expect(cipher.open(sealed, ALICE)).toEqual({ plaintext: SECRET, keyId: cipher.currentKeyId, stale: false });
  });

  it('uses a fresh IV each time', () => {
    expect(cipher.seal(SECRET, ALICE)).not.toBe(cipher.seal(SECRET, ALICE));
  });

  it.each([
    ['the IV', 2],
    ['the ciphertext', 3],
    ['the tag', 4],
  ])('detects a change to %s', (_what, part) => {
    const sealed = cipher.seal(SECRET, ALICE);
    expect(() => cipher.open(flip(sealed, part), ALICE)).toThrow(SealError);
    expect(() => cipher.open(flip(sealed, part), ALICE)).toThrow(/failed authentication/);
  });

  it("refuses a value copied to another user's record (the Slack user is authenticated data)", () => {
    const sealed = cipher.seal(SECRET, ALICE);
    expect(() => cipher.open(sealed, 'T0001:U0999MALLORY')).toThrow(/failed authentication/);
  });

  it('refuses unknown key ids and malformed values with a reason', () => {
    const sealed = cipher.seal(SECRET, ALICE);
    const otherId = sealed.replace(`.${cipher.currentKeyId}.`, '.deadbeef.');
    expect(() => cipher.open(otherId, ALICE)).toThrow(expect.objectContaining({ reason: 'unknown_key' }));
    expect(() => cipher.open('not-sealed', ALICE)).toThrow(expect.objectContaining({ reason: 'malformed' }));
  });

  it('rotates: NEW,OLD opens values sealed with OLD (stale) and seals with NEW; NEW alone cannot open OLD', () => {
    const old = createTokenCipher(keysFrom(KEY_A));
    const rotated = createTokenCipher(keysFrom(`${KEY_B},${KEY_A}`));
    const onlyNew = createTokenCipher(keysFrom(KEY_B));
    const sealedOld = old.seal(SECRET, ALICE);
    expect(rotated.open(sealedOld, ALICE)).toMatchObject({ plaintext: SECRET, keyId: old.currentKeyId, stale: true });
    const resealed = rotated.seal(SECRET, ALICE);
    expect(rotated.open(resealed, ALICE)).toMatchObject({ keyId: rotated.currentKeyId, stale: false });
    expect(onlyNew.open(resealed, ALICE).plaintext).toBe(SECRET);
    expect(() => onlyNew.open(sealedOld, ALICE)).toThrow(expect.objectContaining({ reason: 'unknown_key' }));
  });
});

describe('link start tokens (signed Slack team and user, expiring)', () => {
  let now = 1_700_000_000_000;
  const start = createLinkStart({ publicUrl: 'https://greenlight.example', keys: keysFrom(KEY_A), now: () => now });
  const tokenOf = (url: string) => new URL(url).searchParams.get('t')!;

  it('verifies its own link and gives back the Slack user', () => {
    const url = start.url({ teamId: 'T0001', userId: 'U0456ALICE' });
    expect(url.startsWith('https://greenlight.example/oauth/gitlab/start?t=')).toBe(true);
    expect(start.verify(tokenOf(url))).toEqual({ ok: true, user: { teamId: 'T0001', userId: 'U0456ALICE' } });
  });

  it('refuses a link for another user (payload changed) and a forged signature', () => {
    const [payload, signature] = tokenOf(start.url({ teamId: 'T0001', userId: 'U0456ALICE' })).split('.');
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), u: 'U0999MALLORY' }),
    ).toString('base64url');
    expect(start.verify(`${other}.${signature}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(start.verify(`${payload}.${Buffer.alloc(32).toString('base64url')}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(start.verify('garbage')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('expires after an hour', () => {
    const token = tokenOf(start.url({ teamId: 'T0001', userId: 'U0456ALICE' }));
    now += 59 * 60_000;
    expect(start.verify(token).ok).toBe(true);
    now += 2 * 60_000;
    expect(start.verify(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('keeps links working across a key rotation', () => {
    const before = tokenOf(start.url({ teamId: 'T0001', userId: 'U0456ALICE' }));
    const rotated = createLinkStart({
      publicUrl: 'https://greenlight.example',
      keys: keysFrom(`${KEY_B},${KEY_A}`),
      now: () => now,
    });
    expect(rotated.verify(before).ok).toBe(true);
  });
});
