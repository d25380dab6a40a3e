import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { GitLabUser } from '../../core/deployments/deployment.ts';
import { isGreenlightError } from '../../core/errors.ts';
import type { Logger, SlackUser } from '../../core/ports.ts';
import type { LinkStart } from '../../adapters/identity/link-start.ts';
import { UnknownStateError, type OAuthIdentity } from '../../adapters/identity/oauth-identity.ts';
import { PAGE_HEADERS, sendPage } from './html-page.ts';

export type OAuthRouteDeps = {
  identity: Pick<OAuthIdentity, 'beginLink' | 'completeLink' | 'abandonLink'>;
  linkStart: Pick<LinkStart, 'verify'>;
  /** Tells the person in Slack that the link worked (a direct message). */
  confirm(user: SlackUser, gitlab: GitLabUser): Promise<void>;
  command: string;
  logger: Logger;
};

const StartQuery = z.object({ t: z.string().min(1).max(2000) });
const CallbackQuery = z.object({
  state: z.string().min(1).max(200),
  code: z.string().min(1).max(1000).optional(),
  error: z.string().max(100).optional(),
  error_description: z.string().max(1000).optional(),
});

/**
 * The browser side of `/deploys link`: the Link button opens /oauth/gitlab/start, which creates the
 * state and PKCE verifier and sends the browser to GitLab; GitLab sends it back to /oauth/gitlab/callback.
 */
export function oauthRouter(deps: OAuthRouteDeps): Router {
  const router = Router();
  const again = `Run ${deps.command} link in Slack to get a new link.`;

  router.get('/oauth/gitlab/start', async (req: Request, res: Response) => {
    const query = StartQuery.safeParse(req.query);
    const verified = query.success ? deps.linkStart.verify(query.data.t) : ({ ok: false, reason: 'invalid' } as const);
    if (!verified.ok) {
      deps.logger.warn({ reason: verified.reason }, 'oauth start refused');
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
      const authorizeUrl = await deps.identity.beginLink(verified.user);
      res.status(302).set(PAGE_HEADERS).location(authorizeUrl).end();
    } catch (error) {
      deps.logger.error({ err: (error as Error).message }, 'oauth start failed');
      sendPage(res, 503, { title: 'greenlight is not available right now', message: 'Please try again in a minute.' });
    }
  });

  router.get('/oauth/gitlab/callback', async (req: Request, res: Response) => {
    const query = CallbackQuery.safeParse(req.query);
    if (!query.success) {
      sendPage(res, 400, { title: 'This is not a GitLab sign-in', message: `The address is incomplete. ${again}` });
      return;
    }
    const { state, code, error } = query.data;
    if (error !== undefined || code === undefined) {
      const user = await deps.identity.abandonLink(state).catch(() => null);
      deps.logger.info({ slackUser: user?.userId, error: error ?? 'no code' }, 'oauth link not authorized');
      sendPage(
        res,
        400,
        error === 'access_denied'
          ? { title: 'Nothing was linked', message: `You did not authorize greenlight in GitLab. ${again}` }
          : {
              title: 'GitLab did not complete the sign-in',
              message: `GitLab answered: ${error ?? 'no authorization code'}. ${again}`,
            },
      );
      return;
    }
    try {
      const { user, gitlab } = await deps.identity.completeLink({ state, code });
      sendPage(res, 200, {
        ok: true,
        title: `Linked as @${gitlab.username}`,
        message: 'You can close this tab. greenlight now records your approvals in GitLab as you.',
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

function sendFailure(res: Response, failure: unknown, logger: Logger, again: string): void {
  if (failure instanceof UnknownStateError) {
    sendPage(res, 400, {
      title: 'This sign-in has expired',
      message: `It was used already or started more than 10 minutes ago. ${again}`,
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
