import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { GitLabUser } from '../../core/deployments/deployment.ts';
import { GreenlightError } from '../../core/errors.ts';
import type { SlackUser } from '../../core/ports.ts';
import type { Keyspace } from '../redis/connection.ts';
import { SealError, type TokenCipher } from './token-cipher.ts';

/** A Slack user's link to their GitLab account, tokens in the clear (only ever in memory). */
export type Link = {
  gitlab: GitLabUser;
  emails: string[];
  accessToken: string;
  refreshToken: string;
  /** epoch ms when the access token stops working */
  expiresAt: number;
  linkedAt: number;
  refreshedAt: number;
  /** set when GitLab stopped accepting the tokens; the person has to link again */
  broken: { reason: string; at: number } | null;
};

export type LinkRead =
  | { kind: 'none' }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'link'; link: Link; /** sealed with an older key */ stale: boolean };

/**
 * A link in progress, bound to the Slack user who asked and to the browser that started it (`browser`: the
 * SHA-256 of a random value kept in that browser's cookie). Stage `slack`: waiting for Sign in with Slack
 * (`nonce` goes into its ID token); stage `gitlab`: the Slack user was proven, waiting for GitLab's OAuth.
 */
export type PendingAuthorization = {
  teamId: string;
  userId: string;
  verifier: string;
  createdAt: number;
  browser: string;
  stage: 'slack' | 'gitlab';
  nonce: string;
  /** the name Sign in with Slack gave (stage gitlab) */
  slackName: string | null;
};

/** The GitLab account is linked to another Slack user already: nothing was written. */
export class GitLabAccountTakenError extends Error {
  readonly owner: SlackUser;
  constructor(owner: SlackUser) {
    super('this GitLab account is linked to another Slack user');
    this.name = 'GitLabAccountTakenError';
    this.owner = owner;
  }
}

/**
 * Write access while holding a user's lock: every write checks that the lock is still ours. `claim` (a new
 * link) also makes sure the GitLab account is linked to nobody else (GitLabAccountTakenError), atomically.
 */
export type LockedLink = { write(link: Link, opts?: { claim?: boolean }): Promise<void>; remove(): Promise<void> };

export type LinkStore = {
  read(user: SlackUser): Promise<LinkRead>;
  /**
   * Serializes refreshes and rewrites of one user's tokens across every process sharing Redis. While it
   * waits, `settled` (when given) is asked after each poll: a value means another holder already did the
   * work, and it is returned without taking the lock.
   */
  withLock<T>(user: SlackUser, fn: (locked: LockedLink) => Promise<T>, settled?: () => Promise<T | null>): Promise<T>;
  slackUserOf(gitlabUserId: number): Promise<SlackUser | null>;
  savePending(state: string, pending: PendingAuthorization, ttlMs: number): Promise<void>;
  /** Returns and deletes the pending authorization: a state is good for one callback only. */
  takePending(state: string): Promise<PendingAuthorization | null>;
};

const Stored = z.object({
  v: z.literal(1),
  gitlab: z.object({ id: z.number(), username: z.string(), name: z.string() }),
  emails: z.array(z.string()),
  sealed: z.string(),
  expiresAt: z.number(),
  linkedAt: z.number(),
  refreshedAt: z.number(),
  broken: z.object({ reason: z.string(), at: z.number() }).nullable(),
});
const Secret = z.object({ a: z.string(), r: z.string() });
const Pending = z.object({
  teamId: z.string(),
  userId: z.string(),
  verifier: z.string(),
  createdAt: z.number(),
  browser: z.string(),
  stage: z.enum(['slack', 'gitlab']),
  nonce: z.string(),
  slackName: z.string().nullable(),
});

/**
 * SET the record (and the reverse index GitLab id -> Slack user) only while the lock is still ours. A GitLab
 * account belongs to one Slack user: a claim (ARGV[4] = 1) it is owned by someone else returns the owner and
 * writes nothing; a rewrite (refresh) never takes the index from another owner. KEYS[4]: the reverse index of
 * the GitLab account the record named before (a relink to another account gives that one up).
 */
const WRITE_LOCKED = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local owner = redis.call('get', KEYS[3])
if owner and owner ~= ARGV[3] and ARGV[4] == '1' then return owner end
redis.call('set', KEYS[2], ARGV[2])
if KEYS[4] ~= KEYS[3] and redis.call('get', KEYS[4]) == ARGV[3] then redis.call('del', KEYS[4]) end
if not owner or owner == ARGV[3] or ARGV[4] == '1' then redis.call('set', KEYS[3], ARGV[3]) end
return 1`;
/** Forgets the user's pending state only if it is still this one. */
const FORGET_PENDING = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
const REMOVE_LOCKED = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('del', KEYS[2])
if redis.call('get', KEYS[3]) == ARGV[2] then redis.call('del', KEYS[3]) end
return 1`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export type LockTiming = { ttlMs: number; waitMs: number; pollMs: number };
/** The lock outlives GitLab's 10 s timeout on a refresh; a waiter gives up (and retries the job) after 15 s. */
const DEFAULT_LOCK: LockTiming = { ttlMs: 30_000, waitMs: 15_000, pollMs: 25 };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const parseStored = (raw: string | null) => (raw === null ? null : (Stored.safeParse(parseJson(raw)).data ?? null));

const who = (user: SlackUser) => `${user.teamId}:${user.userId}`;

function parseWho(value: string | null): SlackUser | null {
  const at = value?.indexOf(':') ?? -1;
  return value && at > 0 ? { teamId: value.slice(0, at), userId: value.slice(at + 1) } : null;
}

export function createLinkStore(
  redis: Redis,
  keys: Keyspace,
  cipher: TokenCipher,
  lock: LockTiming = DEFAULT_LOCK,
): LinkStore {
  const lost = () =>
    new GreenlightError('gitlab_unavailable', 'the lock on a GitLab link expired before its tokens were written', {
      detail: 'lock_lost',
    });

  /** The lock's token once held, or the value `settled` produced while waiting. */
  async function acquire<T>(
    user: SlackUser,
    settled?: () => Promise<T | null>,
  ): Promise<{ token: string } | { value: T }> {
    const token = randomBytes(12).toString('hex');
    const deadline = Date.now() + lock.waitMs;
    for (;;) {
      if ((await redis.set(keys.identityLock(user.teamId, user.userId), token, 'PX', lock.ttlMs, 'NX')) === 'OK')
        return { token };
      if (Date.now() >= deadline)
        throw new GreenlightError('gitlab_unavailable', 'another worker is still refreshing this GitLab link', {
          detail: 'lock_busy',
        });
      await new Promise((resolve) => setTimeout(resolve, lock.pollMs));
      const value = settled ? await settled() : null;
      if (value !== null) return { value };
    }
  }

  return {
    async read(user) {
      const raw = await redis.get(keys.identity(user.teamId, user.userId));
      if (raw === null) return { kind: 'none' };
      const stored = parseStored(raw);
      if (!stored) return { kind: 'unreadable', reason: 'the stored link could not be read' };
      let secret: z.infer<typeof Secret>;
      let stale: boolean;
      try {
        const opened = cipher.open(stored.sealed, who(user));
        secret = Secret.parse(JSON.parse(opened.plaintext));
        stale = opened.stale;
      } catch (error) {
        const reason =
          error instanceof SealError && error.reason === 'unknown_key'
            ? 'its encryption key is no longer configured'
            : 'the stored link could not be read';
        return { kind: 'unreadable', reason };
      }
      const { sealed: _sealed, v: _v, ...rest } = stored;
      return { kind: 'link', stale, link: { ...rest, accessToken: secret.a, refreshToken: secret.r } };
    },

    async withLock(user, fn, settled) {
      const lockKey = keys.identityLock(user.teamId, user.userId);
      const acquired = await acquire(user, settled);
      if ('value' in acquired) return acquired.value;
      const { token } = acquired;
      const locked: LockedLink = {
        async write(link, opts) {
          const { accessToken, refreshToken, ...rest } = link;
          const before = parseStored(await redis.get(keys.identity(user.teamId, user.userId)))?.gitlab.id;
          const record = JSON.stringify({
            v: 1,
            ...rest,
            sealed: cipher.seal(JSON.stringify({ a: accessToken, r: refreshToken }), who(user)),
          });
          const ok = await redis.eval(
            WRITE_LOCKED,
            4,
            lockKey,
            keys.identity(user.teamId, user.userId),
            keys.slackOf(link.gitlab.id),
            keys.slackOf(before ?? link.gitlab.id),
            token,
            record,
            who(user),
            opts?.claim ? '1' : '0',
          );
          if (typeof ok === 'string') throw new GitLabAccountTakenError(parseWho(ok) ?? { teamId: '', userId: ok });
          if (ok !== 1) throw lost();
        },
        async remove() {
          const gitlabId = parseStored(await redis.get(keys.identity(user.teamId, user.userId)))?.gitlab.id ?? 0;
          const ok = await redis.eval(
            REMOVE_LOCKED,
            3,
            lockKey,
            keys.identity(user.teamId, user.userId),
            keys.slackOf(gitlabId),
            token,
            who(user),
          );
          if (ok !== 1) throw lost();
        },
      };
      try {
        return await fn(locked);
      } finally {
        await redis.eval(RELEASE, 1, lockKey, token);
      }
    },

    async slackUserOf(gitlabUserId) {
      return parseWho(await redis.get(keys.slackOf(gitlabUserId)));
    },

    async savePending(state, pending, ttlMs) {
      // One pending state per Slack user: a new request replaces the old one (no growth from repeated starts).
      const index = keys.oauthPending(pending.teamId, pending.userId);
      const previous = await redis.get(index);
      const write = redis.multi();
      if (previous !== null && previous !== state) write.del(keys.oauthState(previous));
      write.set(keys.oauthState(state), JSON.stringify(pending), 'PX', ttlMs);
      write.set(index, state, 'PX', ttlMs);
      const results = await write.exec();
      const failed = results?.find(([error]) => error !== null)?.[0];
      if (!results || failed) throw failed ?? new Error('the pending link could not be stored');
    },

    async takePending(state) {
      const raw = await redis.getdel(keys.oauthState(state));
      const pending = raw === null ? null : (Pending.safeParse(parseJson(raw)).data ?? null);
      if (pending) await redis.eval(FORGET_PENDING, 1, keys.oauthPending(pending.teamId, pending.userId), state);
      return pending;
    },
  };
}
