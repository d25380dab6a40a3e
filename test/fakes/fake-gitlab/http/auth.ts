// API authentication (§3 error table, §6): PAT / OAuth tokens, expiry and revocation, scopes, Sudo.
import type { Ctx } from '../context.ts';
import type { TokenRec, UserRec } from '../model.ts';
import { json, message, type HttpResult, type Incoming } from './types.ts';

export const READ_SCOPES = ['api', 'read_api'] as const;
export const WRITE_SCOPES = ['api'] as const;

export const TOKEN_EXPIRED = 'Token is expired. You can either do re-authorization or token refresh.';
export const TOKEN_REVOKED = 'Token was revoked. You have to re-authorize from the user.';
const INSUFFICIENT_SCOPE = 'The request requires higher privileges than provided by the access token.';

export type AuthOutcome =
  | { ok: true; token: TokenRec; tokenUser: UserRec; user: UserRec; viaSudo: boolean }
  | { ok: false; result: HttpResult; token: TokenRec | null; tokenUser: UserRec | null };

const bearerHeader = (error: string, description: string, extra = ''): Record<string, string> => ({
  'WWW-Authenticate':
    `Bearer realm="Protected by OAuth 2.0", error="${error}", ` + `error_description="${description}"${extra}`,
});

function invalidToken(description: string): HttpResult {
  return json(
    401,
    { error: 'invalid_token', error_description: description },
    bearerHeader('invalid_token', description),
  );
}

function insufficientScope(scope: string): HttpResult {
  return json(
    403,
    { error: 'insufficient_scope', error_description: INSUFFICIENT_SCOPE, scope },
    bearerHeader('insufficient_scope', INSUFFICIENT_SCOPE, `, scope="${scope}"`),
  );
}

export function tokenFromRequest(incoming: Incoming): string | null {
  const privateToken = incoming.headers['private-token'];
  if (privateToken) return privateToken;
  const authorization = incoming.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization);
  if (bearer?.[1]) return bearer[1].trim();
  return incoming.query.private_token ?? incoming.query.access_token ?? null;
}

export function findUserByIdOrUsername(ctx: Ctx, identifier: string): UserRec | undefined {
  if (/^\d+$/.test(identifier)) return ctx.state.users.get(Number(identifier));
  const wanted = identifier.toLowerCase();
  return [...ctx.state.users.values()].find((u) => u.username.toLowerCase() === wanted);
}

/** The token's user as far as rate limiting cares (no validation beyond lookup). */
export function peekTokenUser(ctx: Ctx, incoming: Incoming): UserRec | null {
  const raw = tokenFromRequest(incoming);
  const token = raw === null ? undefined : ctx.state.tokens.get(raw);
  return token ? (ctx.state.users.get(token.userId) ?? null) : null;
}

/**
 * Checks, in GitLab's order: token present and known (401), expired / revoked (401 invalid_token),
 * account blocked (403), then either Sudo (admin -> sudo scope -> target user) or the endpoint's scopes.
 */
export function authenticate(ctx: Ctx, incoming: Incoming, allowedScopes: readonly string[]): AuthOutcome {
  const unauthorized = (
    result: HttpResult,
    token: TokenRec | null = null,
    tokenUser: UserRec | null = null,
  ): AuthOutcome => ({
    ok: false,
    result,
    token,
    tokenUser,
  });
  const raw = tokenFromRequest(incoming);
  const token = raw === null ? undefined : ctx.state.tokens.get(raw);
  const tokenUser = token ? ctx.state.users.get(token.userId) : undefined;
  if (!token || !tokenUser) return unauthorized(message(401, '401 Unauthorized'));
  if (token.expiresAt !== null && token.expiresAt <= ctx.clock.now())
    return unauthorized(invalidToken(TOKEN_EXPIRED), token, tokenUser);
  if (token.revoked) return unauthorized(invalidToken(TOKEN_REVOKED), token, tokenUser);
  if (tokenUser.state !== 'active') {
    return unauthorized(message(403, `403 Forbidden - Your account has been ${tokenUser.state}.`), token, tokenUser);
  }

  const sudo = incoming.headers.sudo ?? incoming.query.sudo;
  if (sudo !== undefined) {
    if (!tokenUser.admin)
      return unauthorized(message(403, '403 Forbidden - Must be admin to use sudo'), token, tokenUser);
    if (!token.scopes.includes('sudo')) return unauthorized(insufficientScope('sudo'), token, tokenUser);
    const target = findUserByIdOrUsername(ctx, sudo);
    if (!target)
      return unauthorized(message(404, `404 User with ID or username '${sudo}' Not Found`), token, tokenUser);
    return { ok: true, token, tokenUser, user: target, viaSudo: true };
  }
  if (!token.scopes.some((s) => allowedScopes.includes(s))) {
    return unauthorized(insufficientScope(allowedScopes.join(' ')), token, tokenUser);
  }
  return { ok: true, token, tokenUser, user: tokenUser, viaSudo: false };
}
