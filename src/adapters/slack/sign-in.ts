import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';

/**
 * Sign in with Slack (OpenID Connect), the Slack leg of linking a GitLab account: the browser that links proves
 * which Slack user it is signed in as. Endpoints live on the origin of SLACK_API_URL (https://slack.com on real
 * Slack): /openid/connect/authorize, /openid/connect/keys (JWKS); the code is exchanged with the Web API method
 * openid.connect.token. The ID token is verified with jose: signature against the JWKS, issuer (that origin),
 * audience (SLACK_CLIENT_ID), expiry, and the nonce this flow sent.
 */
export type SlackSignIn = {
  authorizeUrl(input: { state: string; nonce: string; teamId: string }): string;
  /** Exchanges the code and verifies the ID token; who signed in. */
  complete(input: { code: string; nonce: string }): Promise<SignedInSlackUser>;
};

export type SignedInSlackUser = { userId: string; teamId: string; name: string | null };

/** Why a sign-in was not accepted: Slack refused the code, or the ID token failed verification, or no answer. */
export class SlackSignInError extends Error {
  readonly reason: 'refused' | 'invalid_token' | 'unavailable';
  constructor(reason: SlackSignInError['reason'], message: string) {
    super(message);
    this.name = 'SlackSignInError';
    this.reason = reason;
  }
}

/** `openid` names the user and team; `profile` adds the name the success page shows. */
export const SLACK_SIGN_IN_SCOPES = 'openid profile';

const TokenAnswer = z.union([
  z.object({ ok: z.literal(true), id_token: z.string().min(1) }),
  z.object({ ok: z.literal(false), error: z.string().max(200) }),
]);
const Claims = z.object({
  'https://slack.com/user_id': z.string().regex(/^[UW][A-Z0-9]+$/),
  'https://slack.com/team_id': z.string().regex(/^[TE][A-Z0-9]+$/),
  nonce: z.string(),
  name: z.string().max(200).optional(),
});

export function createSlackSignIn(opts: {
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  timeoutMs?: number;
}): SlackSignIn {
  const origin = new URL(opts.apiUrl).origin;
  const jwks = createRemoteJWKSet(new URL(`${origin}/openid/connect/keys`), {
    timeoutDuration: opts.timeoutMs ?? 10_000,
  });
  const timeoutMs = opts.timeoutMs ?? 10_000;

  return {
    authorizeUrl({ state, nonce, teamId }) {
      const url = new URL(`${origin}/openid/connect/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code',
        scope: SLACK_SIGN_IN_SCOPES,
        client_id: opts.clientId,
        state,
        nonce,
        redirect_uri: opts.redirectUri,
        team: teamId,
      }).toString();
      return url.toString();
    },

    async complete({ code, nonce }) {
      let body: unknown;
      try {
        const response = await fetch(`${opts.apiUrl}openid.connect.token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({
            client_id: opts.clientId,
            client_secret: opts.clientSecret,
            code,
            redirect_uri: opts.redirectUri,
          }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        body = await response.json();
      } catch (error) {
        throw new SlackSignInError('unavailable', `openid.connect.token failed: ${(error as Error).message}`);
      }
      const answer = TokenAnswer.safeParse(body);
      if (!answer.success) throw new SlackSignInError('refused', 'openid.connect.token gave an unexpected answer');
      if (!answer.data.ok) throw new SlackSignInError('refused', `openid.connect.token: ${answer.data.error}`);
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(answer.data.id_token, jwks, {
          issuer: origin,
          audience: opts.clientId,
          algorithms: ['RS256'],
          requiredClaims: ['exp', 'iat', 'sub', 'nonce'],
          clockTolerance: 30,
        }));
      } catch (error) {
        // No answer from the JWKS endpoint (network, timeout, not 200) is not a forged token: try again later.
        const unreachable =
          !(error instanceof joseErrors.JOSEError) ||
          error instanceof joseErrors.JWKSTimeout ||
          error.code === 'ERR_JOSE_GENERIC';
        if (unreachable)
          throw new SlackSignInError(
            'unavailable',
            `Slack's signing keys could not be read: ${(error as Error).message}`,
          );
        throw new SlackSignInError('invalid_token', `the ID token was not accepted: ${(error as Error).message}`);
      }
      const claims = Claims.safeParse(payload);
      if (!claims.success) throw new SlackSignInError('invalid_token', 'the ID token lacks the Slack user or team');
      if (claims.data.nonce !== nonce)
        throw new SlackSignInError('invalid_token', 'the ID token was issued for another sign-in (nonce)');
      return {
        userId: claims.data['https://slack.com/user_id'],
        teamId: claims.data['https://slack.com/team_id'],
        name: claims.data.name ?? null,
      };
    },
  };
}
