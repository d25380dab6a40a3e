import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GitLabUser } from '../../core/deployments/deployment.ts';
import { GreenlightError, isGreenlightError } from '../../core/errors.ts';
import type { Clock, Identity, IdentityPort, IdentityResolution, Logger, SlackUser } from '../../core/ports.ts';
import { createActor } from '../gitlab/actors.ts';
import { createPkce, type GitLabOAuthClient } from '../gitlab/oauth-client.ts';
import type { GitLabConnection } from '../gitlab/reader.ts';
import type { AccountStatus, IdentityAdapter } from './account.ts';
import type { SignedInSlackUser, SlackSignIn } from '../slack/sign-in.ts';
import {
  GitLabAccountTakenError,
  type Link,
  type LinkStore,
  type LockedLink,
  type PendingAuthorization,
} from './link-store.ts';

/** Refresh this long before GitLab's 2 h expiry, so that a token never runs out mid-request. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** A started authorization (state + PKCE verifier) is good for one callback within 10 minutes. */
export const STATE_TTL_MS = 10 * 60_000;

/** The callback carried a state greenlight does not know: used already, expired, or never issued. */
export class UnknownStateError extends Error {
  constructor() {
    super('unknown or expired OAuth state');
    this.name = 'UnknownStateError';
  }
}

/** The callback came back to another browser than the one that started the link (cookie missing or different). */
export class OtherBrowserError extends Error {
  constructor() {
    super('the link flow came back to another browser than the one that started it');
    this.name = 'OtherBrowserError';
  }
}

/** The browser is signed in to Slack as someone else than the Slack user who asked for the link. */
export class SlackUserMismatchError extends Error {
  readonly asked: SlackUser;
  readonly signedIn: SignedInSlackUser;
  constructor(asked: SlackUser, signedIn: SignedInSlackUser) {
    super('the browser is signed in to Slack as another user than the one who asked for the link');
    this.name = 'SlackUserMismatchError';
    this.asked = asked;
    this.signedIn = signedIn;
  }
}

/** SHA-256 of the browser's cookie value: what the pending state keeps (the cookie itself is never stored). */
export const browserHash = (cookie: string) => createHash('sha256').update(cookie, 'utf8').digest('hex');

export type OAuthIdentity = IdentityAdapter & {
  /**
   * Starts a link for the Slack user who asked, bound to the browser (`browser`: hash of its cookie): replaces any
   * earlier pending link of that user; returns where the browser signs in to Slack first.
   */
  beginLink(user: SlackUser, browser: string): Promise<string>;
  /**
   * The Slack leg's callback: the signed-in Slack user must be the one who asked (same team). Returns GitLab's
   * authorize URL for the same browser.
   */
  completeSlack(input: { state: string; code: string; browser: string | null }): Promise<string>;
  /** The GitLab leg's callback: exchanges the code, reads who the person is in GitLab, stores the link. */
  completeLink(input: {
    state: string;
    code: string;
    browser: string | null;
  }): Promise<{ user: SlackUser; gitlab: GitLabUser; slackName: string | null }>;
  /** GitLab sent the person back with an error: forget the state; returns whose it was. */
  abandonLink(state: string): Promise<SlackUser | null>;
  /**
   * Deletes the tokens, then revokes them at GitLab (best effort).
   * `gitlab` is null when the stored link was unreadable.
   */
  unlink(user: SlackUser): Promise<{ removed: boolean; gitlab: GitLabUser | null; revoked: boolean }>;
};

export type OAuthIdentityDeps = {
  store: LinkStore;
  oauth: GitLabOAuthClient;
  /** where GitLab is; its token (GITLAB_TOKEN) is never used to act: actors carry the person's own token */
  conn: GitLabConnection;
  clock: Clock;
  logger: Logger;
  /** Who to mention for a GitLab user nobody linked (policy `users:`, e-mail). */
  fallback?: Pick<IdentityPort, 'slackUserFor'>;
  /** Sign in with Slack: proves which Slack user the linking browser belongs to. */
  slackSignIn: SlackSignIn;
};

const sameBrowser = (pending: PendingAuthorization, browser: string | null) =>
  browser !== null &&
  browser.length === pending.browser.length &&
  timingSafeEqual(Buffer.from(browser), Buffer.from(pending.browser));

const broken = (reason: string) => new GreenlightError('identity_broken', reason, { retryable: false });

/**
 * GitLab.com: every person links their own account with OAuth and greenlight acts with their token.
 * Access tokens live 2 hours; a refresh rotates both tokens, so refreshes of one person's link are
 * serialized with a Redis lock and the link is re-read once the lock is held. When GitLab stops
 * accepting a link (invalid_grant, revoked grant, 401 invalid_token) it is marked broken and the person
 * is told to link again.
 */
export function createOAuthIdentity(deps: OAuthIdentityDeps): OAuthIdentity {
  const { store, oauth, clock, logger } = deps;
  /** resolve() hands out Identity objects; actorFor() gets them back and needs the Slack user they belong to. */
  const owners = new WeakMap<Identity, SlackUser>();
  const fresh = (link: Link) => link.expiresAt - REFRESH_MARGIN_MS > clock.now();

  async function usableLink(user: SlackUser): Promise<Link> {
    const read = await store.read(user);
    if (read.kind === 'none') throw broken('it was removed');
    if (read.kind === 'unreadable') throw broken(read.reason);
    if (read.link.broken) throw broken(read.link.broken.reason);
    return read.link;
  }

  async function markBroken(locked: LockedLink, user: SlackUser, link: Link, reason: string): Promise<GreenlightError> {
    await locked.write({ ...link, broken: { reason, at: clock.now() } });
    logger.warn({ slackUser: user.userId, gitlabUser: link.gitlab.username, reason }, 'gitlab link marked broken');
    return broken(reason);
  }

  /** A working access token for the person, refreshed first when it is about to expire. */
  async function accessToken(user: SlackUser): Promise<string> {
    const link = await usableLink(user);
    if (fresh(link)) return link.accessToken;
    const refreshedElsewhere = async () => {
      const current = await usableLink(user);
      return fresh(current) ? current.accessToken : null;
    };
    return store.withLock(
      user,
      async (locked) => {
        // Another worker may have refreshed just before this one took the lock.
        const current = await usableLink(user);
        if (fresh(current)) return current.accessToken;
        let pair;
        try {
          pair = await oauth.refresh(current.refreshToken);
        } catch (error) {
          if (isGreenlightError(error, 'identity_broken'))
            throw await markBroken(locked, user, current, 'GitLab did not accept its refresh token any more');
          throw error;
        }
        const now = clock.now();
        await locked.write({
          ...current,
          accessToken: pair.accessToken,
          refreshToken: pair.refreshToken,
          expiresAt: now + pair.expiresIn * 1000,
          refreshedAt: now,
        });
        logger.info({ slackUser: user.userId, gitlabUser: current.gitlab.username }, 'gitlab token refreshed');
        return pair.accessToken;
      },
      refreshedElsewhere,
    );
  }

  /** GitLab answered 401 to a request made with `usedToken`: decide whether the link is broken. */
  async function unauthorized(user: SlackUser, usedToken: string | null, error: Error): Promise<Error> {
    if (!isGreenlightError(error) || error.detail === 'invalid_client') return error;
    return store.withLock(user, async (locked) => {
      let link: Link;
      try {
        link = await usableLink(user);
      } catch (gone) {
        return gone as Error;
      }
      // A refresh elsewhere rotated the token this request used: try again with the new one.
      if (usedToken !== null && link.accessToken !== usedToken)
        return new GreenlightError('gitlab_unavailable', 'the GitLab token was rotated during the request', {
          detail: 'token_rotated',
        });
      if (error.detail === 'expired') {
        await locked.write({ ...link, expiresAt: 0 });
        return new GreenlightError(
          'gitlab_unavailable',
          'GitLab considered the token expired early; it is refreshed on the next attempt',
          { detail: 'token_expired' },
        );
      }
      return markBroken(
        locked,
        user,
        link,
        error.detail === 'revoked' ? 'access was revoked in GitLab' : 'GitLab no longer accepts its token',
      );
    });
  }

  async function resolve(user: SlackUser): Promise<IdentityResolution> {
    const read = await store.read(user);
    if (read.kind === 'none') return { kind: 'unlinked' };
    if (read.kind === 'unreadable') return { kind: 'broken', reason: read.reason };
    if (read.link.broken) return { kind: 'broken', reason: read.link.broken.reason };
    const identity: Identity = { gitlab: read.link.gitlab, via: 'oauth', emails: read.link.emails };
    owners.set(identity, user);
    return { kind: 'linked', identity };
  }

  async function ownerOf(identity: Identity): Promise<SlackUser> {
    const owner = owners.get(identity) ?? (await store.slackUserOf(identity.gitlab.id));
    if (!owner) throw broken('no Slack user is linked to this GitLab account');
    return owner;
  }

  return {
    linkHint: 'oauth',

    resolve,

    async actorFor(identity) {
      const user = await ownerOf(identity);
      let used: string | null = null;
      return createActor(
        deps.conn,
        identity.gitlab,
        {
          oauthToken: async () => {
            used = await accessToken(user);
            return used;
          },
        },
        { onUnauthorized: (error) => unauthorized(user, used, error) },
      );
    },

    async slackUserFor(gitlab) {
      const linked = await store.slackUserOf(gitlab.id);
      if (linked) return linked.userId;
      return deps.fallback ? deps.fallback.slackUserFor(gitlab) : null;
    },

    async check(user): Promise<AccountStatus> {
      const resolution = await resolve(user);
      if (resolution.kind !== 'linked') return resolution;
      const identity = resolution.identity;
      let used: string | null = null;
      try {
        used = await accessToken(user);
        await oauth.me(used);
        return { kind: 'works', identity };
      } catch (caught) {
        let error = caught as Error;
        if (isGreenlightError(error, 'gitlab_unauthorized')) error = await unauthorized(user, used, error);
        if (isGreenlightError(error, 'identity_broken')) return { kind: 'broken', reason: error.message };
        return { kind: 'failing', identity, reason: error.message };
      }
    },

    async beginLink(user, browser) {
      const state = randomBytes(32).toString('base64url');
      const nonce = randomBytes(24).toString('base64url');
      await store.savePending(
        state,
        {
          teamId: user.teamId,
          userId: user.userId,
          verifier: '',
          createdAt: clock.now(),
          browser,
          stage: 'slack',
          nonce,
          slackName: null,
        },
        STATE_TTL_MS,
      );
      return deps.slackSignIn.authorizeUrl({ state, nonce, teamId: user.teamId });
    },

    async completeSlack({ state, code, browser }) {
      const pending = await store.takePending(state);
      if (!pending || pending.stage !== 'slack') throw new UnknownStateError();
      if (!sameBrowser(pending, browser)) throw new OtherBrowserError();
      const asked = { teamId: pending.teamId, userId: pending.userId };
      const signedIn = await deps.slackSignIn.complete({ code, nonce: pending.nonce });
      if (signedIn.userId !== asked.userId || signedIn.teamId !== asked.teamId) {
        logger.warn(
          { slackUser: asked.userId, signedInAs: signedIn.userId, sameTeam: signedIn.teamId === asked.teamId },
          'link refused: the browser is signed in to Slack as someone else',
        );
        throw new SlackUserMismatchError(asked, signedIn);
      }
      // Proven: the GitLab leg gets a state of its own, for the same browser and user.
      const next = randomBytes(32).toString('base64url');
      const { verifier, challenge } = createPkce();
      await store.savePending(
        next,
        { ...pending, verifier, stage: 'gitlab', slackName: signedIn.name, createdAt: clock.now() },
        STATE_TTL_MS,
      );
      return oauth.authorizeUrl({ state: next, challenge });
    },

    async completeLink({ state, code, browser }) {
      const pending = await store.takePending(state);
      if (!pending || pending.stage !== 'gitlab') throw new UnknownStateError();
      if (!sameBrowser(pending, browser)) throw new OtherBrowserError();
      const user = { teamId: pending.teamId, userId: pending.userId };
      const pair = await oauth.exchangeCode(code, pending.verifier);
      let me;
      try {
        me = await oauth.me(pair.accessToken);
      } catch (error) {
        // Nothing was stored: do not leave a grant behind at GitLab that nobody holds.
        await revokeQuietly(pair.refreshToken, user);
        throw error;
      }
      let previous: Link | null;
      try {
        previous = await store.withLock(user, async (locked) => {
          const before = await store.read(user);
          const now = clock.now();
          await locked.write(
            {
              gitlab: me.user,
              emails: me.emails,
              accessToken: pair.accessToken,
              refreshToken: pair.refreshToken,
              expiresAt: now + pair.expiresIn * 1000,
              linkedAt: now,
              refreshedAt: now,
              broken: null,
            },
            { claim: true },
          );
          return before.kind === 'link' ? before.link : null;
        });
      } catch (error) {
        // Nothing was stored (the account is someone else's, or the write failed): give the grant back.
        await revokeQuietly(pair.refreshToken, user);
        if (error instanceof GitLabAccountTakenError)
          logger.warn(
            { slackUser: user.userId, gitlabUser: me.user.username, owner: error.owner.userId },
            'link refused: the GitLab account is linked to another Slack user',
          );
        throw error;
      }
      logger.info(
        { slackUser: user.userId, gitlabUser: me.user.username, relinked: previous !== null },
        'gitlab account linked',
      );
      // Linking again replaces the old grant; GitLab would otherwise keep it alive.
      if (previous) await revokeQuietly(previous.refreshToken, user);
      return { user, gitlab: me.user, slackName: pending.slackName };
    },

    async abandonLink(state) {
      const pending = await store.takePending(state);
      return pending ? { teamId: pending.teamId, userId: pending.userId } : null;
    },

    async unlink(user) {
      const removed = await store.withLock(user, async (locked) => {
        const read = await store.read(user);
        if (read.kind === 'none') return null;
        await locked.remove();
        return read;
      });
      if (!removed) return { removed: false, gitlab: null, revoked: false };
      logger.info({ slackUser: user.userId }, 'gitlab account unlinked');
      if (removed.kind !== 'link') return { removed: true, gitlab: null, revoked: false };
      return {
        removed: true,
        gitlab: removed.link.gitlab,
        revoked: await revokeQuietly(removed.link.refreshToken, user),
      };
    },
  };

  async function revokeQuietly(refreshToken: string, user: SlackUser): Promise<boolean> {
    try {
      await oauth.revoke(refreshToken);
      return true;
    } catch (error) {
      // The tokens are gone from greenlight either way; the person can also revoke under GitLab's Applications.
      logger.warn({ slackUser: user.userId, err: (error as Error).message }, 'could not revoke a gitlab grant');
      return false;
    }
  }
}
