// OAuth 2 provider (§6, Doorkeeper): authorization code + PKCE, refresh with rotation, revoke.
import { createHash, randomBytes } from 'node:crypto';
import { findUserByIdOrUsername } from './http/auth.ts';
import { formToObject } from './http/body.ts';
import { json, type HttpResult, type Incoming } from './http/types.ts';
import { OAUTH_TOKEN_TTL_MS } from './builders.ts';
import type { Ctx } from './context.ts';
import { nextId, type OAuthAppRec, type OAuthCodeRec, type TokenRec, type UserRec } from './model.ts';

const CODE_TTL_MS = 600_000;

export const OAUTH_ERRORS = {
  invalid_client:
    'Client authentication failed due to unknown client, no client ' +
    'authentication included, or unsupported authentication method.',
  invalid_grant:
    'The provided authorization grant is invalid, expired, revoked, does not match the ' +
    'redirection URI used in the authorization request, or was issued to another client.',
  invalid_redirect_uri: "The requested redirect uri is malformed or doesn't match client redirect URI.",
  unsupported_response_type: 'The authorization server does not support this response type.',
  unsupported_grant_type: 'The authorization grant type is not supported by the authorization server.',
  invalid_scope: 'The requested scope is invalid, unknown, or malformed.',
  access_denied: 'The resource owner or authorization server denied the request.',
  invalid_code_challenge_method: 'The code challenge method must be plain or S256.',
} as const;

type OAuthError = keyof typeof OAUTH_ERRORS;

const oauthError = (status: number, error: OAuthError | 'invalid_request', description?: string): HttpResult =>
  json(status, { error, error_description: description ?? OAUTH_ERRORS[error as OAuthError] });
const missing = (param: string): HttpResult =>
  oauthError(400, 'invalid_request', `Missing required parameter: ${param}.`);

export type AuthorizeOutcome =
  /** 302 to the client: ?code=&state= or ?error=&error_description=&state= */
  | { kind: 'redirect'; location: string }
  /** Doorkeeper renders an error page instead of redirecting (unknown client, bad redirect_uri). */
  | { kind: 'error'; status: number; body: { error: string; error_description: string } }
  /** Nobody is signed in: 302 to the sign-in page. */
  | { kind: 'login'; location: string };

function redirectWith(redirectUri: string, params: Record<string, string | undefined>): AuthorizeOutcome {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return { kind: 'redirect', location: url.toString() };
}

const findApp = (ctx: Ctx, clientId: string | undefined): OAuthAppRec | undefined =>
  clientId === undefined ? undefined : [...ctx.state.oauthApps.values()].find((a) => a.clientId === clientId);

/** GET /oauth/authorize after sign-in; the user "clicks Authorize" unless `deny`. */
export function authorize(
  ctx: Ctx,
  query: Record<string, string>,
  user: UserRec | null,
  deny = false,
): AuthorizeOutcome {
  const app = findApp(ctx, query.client_id);
  if (!app)
    return {
      kind: 'error',
      status: 401,
      body: { error: 'invalid_client', error_description: OAUTH_ERRORS.invalid_client },
    };
  const redirectUri = query.redirect_uri;
  if (redirectUri === undefined || !app.redirectUris.includes(redirectUri)) {
    return {
      kind: 'error',
      status: 400,
      body: { error: 'invalid_redirect_uri', error_description: OAUTH_ERRORS.invalid_redirect_uri },
    };
  }
  if (!user) return { kind: 'login', location: `${ctx.baseUrl()}/users/sign_in` };
  const state = query.state;
  const fail = (error: OAuthError | 'invalid_request', description?: string): AuthorizeOutcome =>
    redirectWith(redirectUri, { error, error_description: description ?? OAUTH_ERRORS[error as OAuthError], state });
  if (query.response_type === undefined) return fail('invalid_request', 'Missing required parameter: response_type.');
  if (query.response_type !== 'code') return fail('unsupported_response_type');
  const scopes = (query.scope ?? app.scopes.join(' ')).split(/[\s+]+/).filter((s) => s !== '');
  if (scopes.length === 0 || scopes.some((s) => !app.scopes.includes(s))) return fail('invalid_scope');
  const challenge = query.code_challenge;
  const method = query.code_challenge_method ?? (challenge ? 'plain' : undefined);
  if (challenge !== undefined && method !== 'S256' && method !== 'plain') return fail('invalid_code_challenge_method');
  if (deny) return fail('access_denied');
  const code: OAuthCodeRec = {
    code: randomBytes(32).toString('hex'),
    applicationId: app.id,
    userId: user.id,
    redirectUri,
    scopes,
    codeChallenge: challenge ?? null,
    codeChallengeMethod: challenge === undefined ? null : (method ?? null),
    expiresAt: ctx.clock.now() + CODE_TTL_MS,
    used: false,
  };
  ctx.state.oauthCodes.set(code.code, code);
  return redirectWith(redirectUri, { code: code.code, state });
}

/**
 * Who is "signed in" for a plain GET /oauth/authorize: X-Fake-User header or fake_gitlab_user cookie (id or username).
 */
export function signedInUser(ctx: Ctx, incoming: Incoming): UserRec | null {
  const cookie = /(?:^|;\s*)fake_gitlab_user=([^;]+)/.exec(incoming.headers.cookie ?? '')?.[1];
  const identifier = incoming.headers['x-fake-user'] ?? (cookie ? decodeURIComponent(cookie) : undefined);
  return identifier === undefined ? null : (findUserByIdOrUsername(ctx, identifier) ?? null);
}

function issueTokens(ctx: Ctx, app: OAuthAppRec, userId: number, scopes: string[]): HttpResult {
  const now = ctx.clock.now();
  const access: TokenRec = {
    id: nextId(ctx.state, 'token'),
    token: randomBytes(32).toString('hex'),
    userId,
    scopes,
    kind: 'oauth',
    name: app.name,
    createdAt: now,
    expiresAt: now + OAUTH_TOKEN_TTL_MS,
    revoked: false,
    applicationId: app.id,
    refreshToken: randomBytes(32).toString('hex'),
  };
  ctx.state.tokens.set(access.token, access);
  ctx.state.refreshTokens.set(access.refreshToken ?? '', {
    token: access.refreshToken ?? '',
    accessToken: access.token,
    applicationId: app.id,
    userId,
    scopes,
    revoked: false,
  });
  return json(200, {
    access_token: access.token,
    token_type: 'bearer',
    expires_in: OAUTH_TOKEN_TTL_MS / 1000,
    refresh_token: access.refreshToken,
    scope: scopes.join(' '),
    created_at: Math.floor(now / 1000),
  });
}

/** Revoke an access token and its refresh token together (Doorkeeper keeps them in one row). */
function revokePair(ctx: Ctx, accessToken: string): void {
  const access = ctx.state.tokens.get(accessToken);
  if (!access) return;
  access.revoked = true;
  const refresh = access.refreshToken === null ? undefined : ctx.state.refreshTokens.get(access.refreshToken);
  if (refresh) refresh.revoked = true;
}

function pkceMatches(code: OAuthCodeRec, verifier: string | undefined): boolean {
  if (code.codeChallenge === null) return verifier === undefined;
  if (verifier === undefined) return false;
  const computed =
    code.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return computed === code.codeChallenge;
}

function clientCredentials(incoming: Incoming, params: Record<string, string>): { id?: string; secret?: string } {
  const basic = /^Basic\s+(.+)$/i.exec(incoming.headers.authorization ?? '')?.[1];
  if (basic) {
    const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    return { ...(id ? { id: decodeURIComponent(id) } : {}), ...(secret ? { secret: decodeURIComponent(secret) } : {}) };
  }
  return {
    ...(params.client_id ? { id: params.client_id } : {}),
    ...(params.client_secret ? { secret: params.client_secret } : {}),
  };
}

function stringParams(incoming: Incoming): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(incoming.params)) if (typeof value === 'string') out[key] = value;
  return out;
}

function tokenEndpoint(ctx: Ctx, incoming: Incoming): HttpResult {
  const params = stringParams(incoming);
  const grantType = params.grant_type;
  if (grantType === undefined) return missing('grant_type');
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token')
    return oauthError(400, 'unsupported_grant_type');
  const creds = clientCredentials(incoming, params);
  const app = findApp(ctx, creds.id);
  if (!app) return oauthError(401, 'invalid_client');
  if (creds.secret !== undefined && creds.secret !== app.clientSecret) return oauthError(401, 'invalid_client');
  const publicWithPkce = !app.confidential && (grantType === 'refresh_token' || params.code_verifier !== undefined);
  if (creds.secret === undefined && !publicWithPkce) return oauthError(401, 'invalid_client');

  if (grantType === 'authorization_code') {
    if (params.code === undefined) return missing('code');
    const code = ctx.state.oauthCodes.get(params.code);
    const valid =
      code !== undefined &&
      !code.used &&
      code.applicationId === app.id &&
      code.expiresAt > ctx.clock.now() &&
      params.redirect_uri === code.redirectUri &&
      pkceMatches(code, params.code_verifier);
    if (!code || !valid) return oauthError(400, 'invalid_grant');
    code.used = true;
    return issueTokens(ctx, app, code.userId, code.scopes);
  }
  if (params.refresh_token === undefined) return missing('refresh_token');
  const refresh = ctx.state.refreshTokens.get(params.refresh_token);
  if (!refresh || refresh.revoked || refresh.applicationId !== app.id) return oauthError(400, 'invalid_grant');
  revokePair(ctx, refresh.accessToken);
  refresh.revoked = true;
  return issueTokens(ctx, app, refresh.userId, refresh.scopes);
}

function revokeEndpoint(ctx: Ctx, incoming: Incoming): HttpResult {
  const params = stringParams(incoming);
  const creds = clientCredentials(incoming, params);
  const app = findApp(ctx, creds.id);
  if (!app || (app.confidential && creds.secret !== app.clientSecret)) return oauthError(401, 'invalid_client');
  const token = params.token;
  if (token === undefined) return missing('token');
  const access = ctx.state.tokens.get(token);
  const refresh = ctx.state.refreshTokens.get(token);
  const applicationId = access?.applicationId ?? refresh?.applicationId;
  if (applicationId === undefined || applicationId === null) return json(200, {});
  if (applicationId !== app.id) {
    return json(403, {
      error: 'unauthorized_client',
      error_description: 'You are not authorized to revoke this token',
    });
  }
  revokePair(ctx, access?.token ?? refresh?.accessToken ?? '');
  return json(200, {});
}

function tokenInfo(ctx: Ctx, incoming: Incoming): HttpResult {
  const raw = /^Bearer\s+(.+)$/i.exec(incoming.headers.authorization ?? '')?.[1] ?? incoming.query.access_token;
  const token = raw === undefined ? undefined : ctx.state.tokens.get(raw);
  const now = ctx.clock.now();
  if (!token || token.revoked || (token.expiresAt !== null && token.expiresAt <= now)) {
    return json(401, { error: 'invalid_token', error_description: 'The access token is invalid' });
  }
  const app = token.applicationId === null ? undefined : ctx.state.oauthApps.get(token.applicationId);
  return json(200, {
    resource_owner_id: token.userId,
    scope: token.scopes,
    expires_in: token.expiresAt === null ? null : Math.floor((token.expiresAt - now) / 1000),
    application: { uid: app?.clientId ?? null },
    created_at: Math.floor(token.createdAt / 1000),
  });
}

const OAUTH_ROUTES = ['GET /oauth/authorize', 'POST /oauth/token', 'POST /oauth/revoke', 'GET /oauth/token/info'];

/** "GET /oauth/authorize" etc. for a known OAuth endpoint (HEAD counts as GET), else null. */
export function oauthRouteOf(incoming: Incoming): string | null {
  const route = `${incoming.method === 'HEAD' ? 'GET' : incoming.method} ${incoming.rawPath}`;
  return OAUTH_ROUTES.includes(route) ? route : null;
}

/** Everything under /oauth/. Returns null for an unknown path. */
export function handleOAuth(ctx: Ctx, incoming: Incoming): HttpResult | null {
  switch (oauthRouteOf(incoming)) {
    case 'GET /oauth/authorize': {
      const query = formToObject(incoming.url.searchParams) as Record<string, string>;
      const outcome = authorize(ctx, query, signedInUser(ctx, incoming));
      if (outcome.kind === 'error') return json(outcome.status, outcome.body);
      return { status: 302, text: '', headers: { Location: outcome.location } };
    }
    case 'POST /oauth/token':
      return tokenEndpoint(ctx, incoming);
    case 'POST /oauth/revoke':
      return revokeEndpoint(ctx, incoming);
    case 'GET /oauth/token/info':
      return tokenInfo(ctx, incoming);
    default:
      return null;
  }
}

/** The user removes the application under Settings > Applications: every token it holds stops working. */
export function revokeGrant(ctx: Ctx, userId: number, clientId?: string): number {
  let revoked = 0;
  for (const token of ctx.state.tokens.values()) {
    if (token.kind !== 'oauth' || token.userId !== userId || token.revoked) continue;
    const app = token.applicationId === null ? undefined : ctx.state.oauthApps.get(token.applicationId);
    if (clientId !== undefined && app?.clientId !== clientId) continue;
    revokePair(ctx, token.token);
    revoked += 1;
  }
  for (const refresh of ctx.state.refreshTokens.values()) {
    const app = ctx.state.oauthApps.get(refresh.applicationId);
    if (refresh.userId === userId && (clientId === undefined || app?.clientId === clientId)) refresh.revoked = true;
  }
  for (const code of ctx.state.oauthCodes.values()) {
    const app = ctx.state.oauthApps.get(code.applicationId);
    if (code.userId === userId && (clientId === undefined || app?.clientId === clientId)) code.used = true;
  }
  return revoked;
}
