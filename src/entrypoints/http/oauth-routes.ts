import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { GitLabUser } from '../../core/deployments/deployment.ts';
import { isGreenlightError } from '../../core/errors.ts';
import type { Logger, SlackUser } from '../../core/ports.ts';
import type { LinkStart } from '../../adapters/identity/link-start.ts';
import { GitLabAccountTakenError } from '../../adapters/identity/link-store.ts';
import {
  browserHash,
  OtherBrowserError,
  SlackUserMismatchError,
  UnknownStateError,
  type OAuthIdentity,
} from '../../adapters/identity/oauth-identity.ts';
import { STATE_TTL_MS } from '../../adapters/identity/oauth-identity.ts';
import { SlackSignInError } from '../../adapters/slack/sign-in.ts';
import { PAGE_HEADERS, sendPage } from './html-page.ts';

export type OAuthRouteDeps = {
  identity: Pick<OAuthIdentity, 'beginLink' | 'completeSlack' | 'completeLink' | 'abandonLink'>;
  linkStart: Pick<LinkStart, 'verify'>;
  /** Tells the person in Slack that their account now acts as the GitLab user (a direct message). */
  confirm(user: SlackUser, gitlab: GitLabUser): Promise<void>;
  command: string;
  /** PUBLIC_URL: the browser cookie is Secure when it is https */
  publicUrl: string;
  logger: Logger;
};

/** The browser's half of a link in progress: a random value only that browser holds (HttpOnly, SameSite=Lax). */
export const LINK_COOKIE = 'greenlight_link';
export const SLACK_CALLBACK_PATH = '/oauth/slack/callback';
export const GITLAB_CALLBACK_PATH = '/oauth/gitlab/callback';

const StartQuery = z.object({ t: z.string().min(1).max(2000) });
const CallbackQuery = z.object({
  state: z.string().min(1).max(200),
  code: z.string().min(1).max(1000).optional(),
  error: z.string().max(100).optional(),
  error_description: z.string().max(1000).optional(),
});

function cookieOf(req: Request, name: string): string | null {
  const header = req.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) {
      const value = part.slice(at + 1).trim();
      return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : null;
    }
  }
  return null;
}

/**
 * The browser side of `/deploys link`, in one browser: the Link button opens /oauth/gitlab/start, which binds
 * the flow to this browser (a cookie) and sends it to Sign in with Slack; Slack sends it back to
 * /oauth/slack/callback, where the signed-in Slack user must be the one who asked, then on to GitLab's OAuth;
 * GitLab sends it back to /oauth/gitlab/callback, which stores the link. A forwarded link, or a flow finished in
 * another browser, stores nothing.
 */
export function oauthRouter(deps: OAuthRouteDeps): Router {
  const router = Router();
  const again = `Run ${deps.command} link in Slack to get a new link.`;
  const secure = deps.publicUrl.startsWith('https:');
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure,
    path: '/oauth',
  };

  router.get('/oauth/gitlab/start', async (req: Request, res: Response) => {
    const query = StartQuery.safeParse(req.query);
    const verified = query.success ? deps.linkStart.verify(query.data.t) : ({ ok: false, reason: 'invalid' } as const);
    if (!verified.ok) {
      deps.logger.debug({ reason: verified.reason }, 'oauth start refused');
      sendPage(
        res,
        400,
        verified.reason === 'expired'
          ? { title: 'This link has expired', message: `Link buttons work for an hour. ${again}` }
          : { title: 'This link is not valid', message: again },
      );
      return;
    }
    try {
      const browser = randomBytes(32).toString('base64url');
      const signInUrl = await deps.identity.beginLink(verified.user, browserHash(browser));
      res
        .cookie(LINK_COOKIE, browser, { ...cookieOptions, maxAge: STATE_TTL_MS })
        .status(302)
        .set(PAGE_HEADERS)
        .location(signInUrl)
        .end();
    } catch (error) {
      deps.logger.error({ err: (error as Error).message }, 'oauth start failed');
      sendPage(res, 503, { title: 'greenlight is not available right now', message: 'Please try again in a minute.' });
    }
  });

  /** Both callbacks: the provider sent an error, or no code: forget the state, say what happened. */
  const declined = async (res: Response, provider: 'Slack' | 'GitLab', state: string, error: string | undefined) => {
    const user = await deps.identity.abandonLink(state).catch(() => null);
    deps.logger.info({ slackUser: user?.userId, provider, error: error ?? 'no code' }, 'oauth link not authorized');
    res.clearCookie(LINK_COOKIE, cookieOptions);
    sendPage(
      res,
      400,
      error === 'access_denied'
        ? { title: 'Nothing was linked', message: `You did not authorize greenlight in ${provider}. ${again}` }
        : {
            title: `${provider} did not complete the sign-in`,
            message: `${provider} answered: ${error ?? 'no authorization code'}. ${again}`,
          },
    );
  };

  router.get(SLACK_CALLBACK_PATH, async (req: Request, res: Response) => {
    const query = CallbackQuery.safeParse(req.query);
    if (!query.success) {
      sendPage(res, 400, { title: 'This is not a Slack sign-in', message: `The address is incomplete. ${again}` });
      return;
    }
    const { state, code, error } = query.data;
    if (error !== undefined || code === undefined) {
      await declined(res, 'Slack', state, error);
      return;
    }
    try {
      const gitlabUrl = await deps.identity.completeSlack({ state, code, browser: hashedCookie(req) });
      res.status(302).set(PAGE_HEADERS).location(gitlabUrl).end();
    } catch (failure) {
      res.clearCookie(LINK_COOKIE, cookieOptions);
      sendFailure(res, failure, deps.logger, again);
    }
  });

  router.get(GITLAB_CALLBACK_PATH, async (req: Request, res: Response) => {
    const query = CallbackQuery.safeParse(req.query);
    if (!query.success) {
      sendPage(res, 400, { title: 'This is not a GitLab sign-in', message: `The address is incomplete. ${again}` });
      return;
    }
    const { state, code, error } = query.data;
    if (error !== undefined || code === undefined) {
      await declined(res, 'GitLab', state, error);
      return;
    }
    res.clearCookie(LINK_COOKIE, cookieOptions);
    try {
      const { user, gitlab, slackName } = await deps.identity.completeLink({
        state,
        code,
        browser: hashedCookie(req),
      });
      sendPage(res, 200, {
        ok: true,
        title: `Slack: ${slackName ?? user.userId} ↔ GitLab: @${gitlab.username}`,
        message:
          `Linked. greenlight now records your approvals in GitLab as @${gitlab.username}` +
          `${gitlab.name ? ` (${gitlab.name})` : ''}. You can close this tab.`,
      });
      await deps
        .confirm(user, gitlab)
        .catch((e: unknown) =>
          deps.logger.warn({ slackUser: user.userId, err: (e as Error).message }, 'could not confirm a link in Slack'),
        );
    } catch (failure) {
      sendFailure(res, failure, deps.logger, again);
    }
  });

  return router;
}

function hashedCookie(req: Request): string | null {
  const value = cookieOf(req, LINK_COOKIE);
  return value === null ? null : browserHash(value);
}

function sendFailure(res: Response, failure: unknown, logger: Logger, again: string): void {
  if (failure instanceof UnknownStateError) {
    sendPage(res, 400, {
      title: 'This sign-in has expired',
      message: `It was used already or started more than 10 minutes ago. ${again}`,
    });
    return;
  }
  if (failure instanceof OtherBrowserError) {
    logger.warn({}, 'link refused: the flow came back to another browser');
    sendPage(res, 403, {
      title: 'Nothing was linked: this is not the browser that started',
      message:
        'A link must be finished in the same browser that opened it. If someone sent you their link, do not use ' +
        `it: every person links their own account. ${again}`,
    });
    return;
  }
  if (failure instanceof SlackUserMismatchError) {
    const who = failure.signedIn.name
      ? `${failure.signedIn.name} (${failure.signedIn.userId})`
      : failure.signedIn.userId;
    sendPage(res, 403, {
      title: 'Nothing was linked: this link belongs to another Slack account',
      message:
        failure.signedIn.teamId === failure.asked.teamId
          ? `This browser is signed in to Slack as ${who}, but the link was made for another Slack user. ` +
            `Every person links their own account, in their own browser. ${again}`
          : `This browser is signed in to another Slack workspace than the one the link was made in. ${again}`,
    });
    return;
  }
  if (failure instanceof GitLabAccountTakenError) {
    sendPage(res, 409, {
      title: 'Nothing was linked: this GitLab account is linked to another Slack user',
      message:
        'A GitLab account acts for one Slack account only. If it is yours, run the unlink command from the Slack ' +
        'account it is linked to first (or ask your greenlight admin), then link again.',
    });
    return;
  }
  if (failure instanceof SlackSignInError) {
    logger.warn({ reason: failure.reason, err: failure.message }, 'sign in with slack refused');
    sendPage(res, failure.reason === 'unavailable' ? 503 : 400, {
      title: failure.reason === 'unavailable' ? 'Slack did not answer' : 'Slack did not confirm who you are',
      message:
        failure.reason === 'unavailable'
          ? `Nothing was linked. Please try again in a minute. ${again}`
          : `The Slack sign-in could not be verified, so nothing was linked. ${again}`,
    });
    return;
  }
  const error = isGreenlightError(failure) ? failure : null;
  if (error?.code === 'identity_broken') {
    logger.warn({ detail: error.detail }, 'oauth code exchange refused');
    sendPage(res, 400, {
      title: 'GitLab did not accept the sign-in',
      message: `The sign-in code was used already or expired. ${again}`,
    });
  } else if (error?.code === 'gitlab_unavailable' || error?.code === 'gitlab_rate_limited') {
    logger.warn({ code: error.code, err: error.message }, 'oauth callback: gitlab unavailable');
    sendPage(res, 503, {
      title: 'GitLab did not answer',
      message: `Nothing was linked. Please try again in a minute. ${again}`,
    });
  } else {
    logger.error({ code: error?.code, err: (failure as Error)?.message }, 'oauth callback failed');
    sendPage(res, 500, {
      title: 'Linking failed',
      message:
        'greenlight could not finish linking your account; if ' +
        `it happens again, tell your greenlight admin. ${again}`,
    });
  }
}
