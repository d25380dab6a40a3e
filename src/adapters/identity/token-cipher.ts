import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export type CipherKey = { id: string; key: Buffer };

/** Why a sealed value could not be opened. None of them is retryable: the person links again. */
export class SealError extends Error {
  readonly reason: 'malformed' | 'unknown_key' | 'tampered';
  constructor(reason: SealError['reason'], message: string) {
    super(message);
    this.name = 'SealError';
    this.reason = reason;
  }
}

export type Opened = {
  plaintext: string;
  keyId: string;
  /** sealed with an older key: re-seal on the next write */ stale: boolean;
};

export type TokenCipher = {
  readonly currentKeyId: string;
  /** AES-256-GCM with the first key. `context` (e.g. the Slack user) is authenticated, not stored. */
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): Opened;
};

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals user tokens for storage: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url). The header and the
 * context are additional authenticated data, so a value copied to another user's record, or given another
 * key id, fails to open. The first key seals; every key opens (rotation: NEW,OLD).
 */
export function createTokenCipher(keys: readonly CipherKey[]): TokenCipher {
  const first = keys[0];
  if (!first) throw new Error('createTokenCipher needs at least one key');
  for (const k of keys) if (k.key.length !== 32) throw new Error(`encryption key ${k.id} is not 32 bytes`);
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  const aad = (keyId: string, context: string) => Buffer.from(`${VERSION}.${keyId}.${context}`, 'utf8');

  return {
    currentKeyId: first.id,
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', first.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(first.id, context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [
        VERSION,
        first.id,
        iv.toString('base64url'),
        body.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== VERSION)
        throw new SealError('malformed', 'sealed value has an unknown format');
      const [, keyId, ivText, bodyText, tagText] = parts as [string, string, string, string, string];
      const key = byId.get(keyId);
      if (!key)
        throw new SealError('unknown_key', `sealed with key ${keyId}, which TOKEN_ENCRYPTION_KEY no longer lists`);
      const iv = Buffer.from(ivText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
        throw new SealError('malformed', 'sealed value has a wrong IV or tag length');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(keyId, context));
        decipher.setAuthTag(tag);
        const plaintext = Buffer.concat([
          decipher.update(Buffer.from(bodyText, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
        return { plaintext, keyId, stale: keyId !== first.id };
      } catch {
        throw new SealError('tampered', 'sealed value failed authentication (changed, or stored for someone else)');
      }
    },
  };
}
