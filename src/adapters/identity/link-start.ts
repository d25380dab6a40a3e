import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { SlackUser } from '../../core/ports.ts';
import type { CipherKey } from './token-cipher.ts';

/**
 * The Link button's target: PUBLIC_URL/oauth/gitlab/start?t=<signed Slack team and user, expiry>.
 * Slack keeps buttons in messages for as long as the message lives, so the button carries no OAuth
 * state of its own: the start route creates the state and the PKCE verifier when it is opened, and the
 * 10-minute, single-use window starts then. The signature (HMAC with a key derived from
 * TOKEN_ENCRYPTION_KEY) makes sure only greenlight could have issued the link for that Slack user.
 */
export type LinkStart = {
  url(user: SlackUser): string;
  verify(token: string): { ok: true; user: SlackUser } | { ok: false; reason: 'expired' | 'invalid' };
};

/** How long a Link button keeps working after greenlight posted it. */
export const LINK_START_TTL_MS = 60 * 60_000;

const Payload = z.object({ t: z.string().min(1), u: z.string().min(1), e: z.number().int() });

export function createLinkStart(opts: {
  publicUrl: string;
  keys: readonly CipherKey[];
  now: () => number;
  ttlMs?: number;
}): LinkStart {
  const macKeys = opts.keys.map((k) =>
    Buffer.from(hkdfSync('sha256', k.key, Buffer.alloc(0), 'greenlight oauth link start', 32)),
  );
  if (macKeys.length === 0) throw new Error('createLinkStart needs at least one key');
  const mac = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest();
  const ttlMs = opts.ttlMs ?? LINK_START_TTL_MS;

  return {
    url(user) {
      const payload = Buffer.from(JSON.stringify({ t: user.teamId, u: user.userId, e: opts.now() + ttlMs })).toString(
        'base64url',
      );
      const token = `${payload}.${mac(macKeys[0]!, payload).toString('base64url')}`;
      return `${opts.publicUrl}/oauth/gitlab/start?t=${token}`;
    },
    verify(token) {
      const [payload, signature, extra] = token.split('.');
      if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'invalid' };
      const given = Buffer.from(signature, 'base64url');
      const signed = macKeys.some((key) => {
        const expected = mac(key, payload);
        return expected.length === given.length && timingSafeEqual(expected, given);
      });
      if (!signed) return { ok: false, reason: 'invalid' };
      let parsed: z.infer<typeof Payload>;
      try {
        parsed = Payload.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      if (parsed.e <= opts.now()) return { ok: false, reason: 'expired' };
      return { ok: true, user: { teamId: parsed.t, userId: parsed.u } };
    },
  };
}
