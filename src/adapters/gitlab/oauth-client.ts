import { createHash, randomBytes } from 'node:crypto';
import { UserEmails, Users } from '@gitbeaker/rest';
import { z } from 'zod';
import type { GitLabUser } from '../../core/deployments/deployment.ts';
import { GreenlightError } from '../../core/errors.ts';
import { mapGitLabError } from './client.ts';
import { gitbeakerOptions } from './reader.ts';
import type { GitLabGate } from './request-budget.ts';

/** `api` records approvals and plays jobs; `read_user` reads the person's own profile and e-mails. */
export const OAUTH_SCOPES = 'api read_user';

/**
 * `gate`: the request budget, asked before the API reads made with the person's token (GET /user, its e-mails);
 * the OAuth endpoints themselves (/oauth/token, /oauth/revoke) are not API requests and are not budgeted.
 */
export type OAuthApp = {
  url: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  timeoutMs?: number;
  gate?: GitLabGate;
};

export type TokenPair = {
  accessToken: string;
  refreshToken: string;
  /** seconds, from GitLab (7200) */ expiresIn: number;
};

/** Who the token belongs to, with every e-mail address GitLab tells the person about themselves. */
export type Me = { user: GitLabUser; emails: string[] };

const TokenResponse = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().int().positive().default(7200),
});
const OAuthErrorBody = z.object({ error: z.string(), error_description: z.string().optional() });
const MeSchema = z.object({
  id: z.number(),
  username: z.string(),
  name: z.string().nullish(),
  email: z.string().nullish(),
  public_email: z.string().nullish(),
  commit_email: z.string().nullish(),
});
const EmailsSchema = z.array(z.object({ email: z.string() }));

export type Pkce = { verifier: string; challenge: string };

/** RFC 7636: a 43-character verifier and its S256 challenge. */
export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export type GitLabOAuthClient = {
  authorizeUrl(input: { state: string; challenge: string }): string;
  exchangeCode(code: string, verifier: string): Promise<TokenPair>;
  /** GitLab invalidates the old pair and returns a new one: never call twice with one refresh token. */
  refresh(refreshToken: string): Promise<TokenPair>;
  /** Revokes the grant the token belongs to (access and refresh token together). */
  revoke(token: string): Promise<void>;
  /** GET /user (and /user/emails) with the person's own token. */
  me(accessToken: string): Promise<Me>;
};

/**
 * GitLab's OAuth provider (authorization code + PKCE, refresh with rotation, revoke). Errors become
 * GreenlightErrors: invalid_grant is `identity_broken` (the person links again), invalid_client is
 * greenlight's own misconfiguration, 5xx and network failures are retryable.
 */
export function createGitLabOAuthClient(app: OAuthApp): GitLabOAuthClient {
  const timeoutMs = app.timeoutMs ?? 10_000;

  async function post(path: string, form: Record<string, string>, what: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret, ...form }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new GreenlightError(
        'gitlab_unavailable',
        `GitLab could not be reached for ${what}: ${(error as Error).message}`,
        { detail: 'network' },
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (response.ok) return body;
    throw oauthError(response.status, body, what);
  }

  async function tokens(form: Record<string, string>, what: string): Promise<TokenPair> {
    const parsed = TokenResponse.safeParse(await post('/oauth/token', form, what));
    if (!parsed.success)
      throw new GreenlightError('invalid_input', `GitLab answered ${what} without a usable token pair`, {
        retryable: false,
      });
    return {
      accessToken: parsed.data.access_token,
      refreshToken: parsed.data.refresh_token,
      expiresIn: parsed.data.expires_in,
    };
  }

  return {
    authorizeUrl({ state, challenge }) {
      const url = new URL('/oauth/authorize', app.url);
      url.search = new URLSearchParams({
        client_id: app.clientId,
        redirect_uri: app.redirectUri,
        response_type: 'code',
        state,
        scope: OAUTH_SCOPES,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      return url.toString();
    },
    exchangeCode: (code, verifier) =>
      tokens(
        { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, code_verifier: verifier },
        'the code exchange',
      ),
    refresh: (refreshToken) =>
      tokens(
        { grant_type: 'refresh_token', refresh_token: refreshToken, redirect_uri: app.redirectUri },
        'a token refresh',
      ),
    async revoke(token) {
      await post('/oauth/revoke', { token }, 'a token revocation');
    },
    async me(accessToken) {
      const options = gitbeakerOptions(
        { url: app.url, timeoutMs, ...(app.gate && { gate: app.gate }) },
        { oauthToken: accessToken },
      );
      let raw: unknown;
      try {
        raw = await new Users(options).showCurrentUser();
      } catch (error) {
        throw mapGitLabError(error, 'GET /user');
      }
      const me = MeSchema.safeParse(raw);
      if (!me.success)
        throw new GreenlightError('invalid_input', 'GitLab answered GET /user with an unexpected shape', {
          retryable: false,
        });
      const emails = [me.data.email, me.data.commit_email, me.data.public_email];
      try {
        const listed = EmailsSchema.safeParse(await new UserEmails(options).all());
        if (listed.success) emails.push(...listed.data.map((e) => e.email));
      } catch (error) {
        // Secondary addresses only widen the four-eyes check; a GitLab without them is not a reason to fail.
        const mapped = mapGitLabError(error, 'GET /user/emails');
        if (mapped.code !== 'gitlab_not_found' && mapped.code !== 'gitlab_forbidden') throw mapped;
      }
      const unique = [
        ...new Set(
          emails.filter((e): e is string => typeof e === 'string' && e.includes('@')).map((e) => e.toLowerCase()),
        ),
      ];
      return {
        user: { id: me.data.id, username: me.data.username, name: me.data.name ?? me.data.username },
        emails: unique,
      };
    },
  };
}

function oauthError(status: number, body: unknown, what: string): GreenlightError {
  const parsed = OAuthErrorBody.safeParse(body);
  const code = parsed.success ? parsed.data.error : String(status);
  if (status === 429)
    return new GreenlightError('gitlab_rate_limited', `GitLab rate-limited ${what}`, { detail: '429' });
  if (status >= 500)
    return new GreenlightError('gitlab_unavailable', `GitLab answered ${status} to ${what}`, {
      detail: String(status),
    });
  if (code === 'invalid_grant')
    return new GreenlightError('identity_broken', 'GitLab no longer accepts this link (invalid_grant)', {
      detail: 'invalid_grant',
      retryable: false,
    });
  if (code === 'invalid_client' || status === 401) {
    return new GreenlightError(
      'gitlab_unauthorized',
      `GitLab rejected greenlight's OAuth application during ${what}: ` +
        'check GITLAB_OAUTH_CLIENT_ID and GITLAB_OAUTH_CLIENT_SECRET',
      { detail: 'invalid_client', retryable: false },
    );
  }
  return new GreenlightError('gitlab_refused', `GitLab refused ${what} (${code})`, { detail: code, retryable: false });
}
