// Sign in with Slack (OpenID Connect), as reference/slack-platform.md ("Corrections found in use") describes it:
// GET /openid/connect/authorize signs in whichever Slack user the browser is signed in as (the cookie
// fake_slack_user on the fake's origin, set by a test's browser), POST /api/openid.connect.token exchanges the
// code for an ID token signed with RS256, and GET /openid/connect/keys serves the JWKS that verifies it.
import { createHash, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Clock } from './clock.ts';
import type { Identity, Json } from './types.ts';
import type { Workspace } from './workspace.ts';

export const SLACK_BROWSER_COOKIE = 'fake_slack_user';
const CODE_TTL_MS = 600_000;
const ID_TOKEN_TTL_S = 3600;

type CodeRec = {
  userId: string;
  teamId: string;
  clientId: string;
  redirectUri: string;
  nonce: string | undefined;
  scopes: string[];
  expiresAt: number;
  used: boolean;
};

export type OpenIdResponse = { status: number; headers: Record<string, string>; body: unknown };

/** What tests can change about the provider (to prove the app checks each claim). */
export type IdTokenTampering = {
  issuer?: string;
  audience?: string;
  /** seconds from now; negative: already expired */
  expiresIn?: number;
  nonce?: string;
  /** sign with a key the JWKS does not list */
  foreignKey?: boolean;
  userId?: string;
  teamId?: string;
};

export class OpenIdProvider {
  private readonly codes = new Map<string, CodeRec>();
  private keys: { privateKey: CryptoKey; jwk: JWK; kid: string } | null = null;
  private foreign: CryptoKey | null = null;
  readonly redirectUrls = new Set<string>();
  /** Sign-ins (authorize requests that produced a code), for assertions. */
  readonly signIns: Array<{ userId: string; teamId: string; clientId: string; at: number }> = [];
  tamper: IdTokenTampering | null = null;

  private readonly opts: { identity: Identity; workspace: Workspace; clock: Clock; issuer: () => string };

  constructor(opts: { identity: Identity; workspace: Workspace; clock: Clock; issuer: () => string }) {
    this.opts = opts;
  }

  private async signingKeys() {
    if (!this.keys) {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
      const kid = randomBytes(8).toString('hex');
      this.keys = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, kid };
      this.foreign = (await generateKeyPair('RS256')).privateKey;
    }
    return this.keys;
  }

  async jwks(): Promise<OpenIdResponse> {
    const { jwk } = await this.signingKeys();
    return { status: 200, headers: { 'content-type': 'application/json' }, body: { keys: [jwk] } };
  }

  /** GET /openid/connect/authorize: the browser's signed-in user "clicks Allow". */
  authorize(query: URLSearchParams, cookieHeader: string | undefined): OpenIdResponse {
    const page = (status: number, text: string): OpenIdResponse => ({
      status,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: text,
    });
    const clientId = query.get('client_id');
    if (clientId !== this.opts.identity.clientId) return page(400, 'invalid_client_id');
    const redirectUri = query.get('redirect_uri') ?? '';
    if (!this.redirectUrls.has(redirectUri)) return page(400, 'bad_redirect_uri');
    const back = (params: Record<string, string>) => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      const state = query.get('state');
      if (state !== null) url.searchParams.set('state', state);
      return { status: 302, headers: { location: url.toString() }, body: '' };
    };
    if (query.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' });
    const scopes = (query.get('scope') ?? '').split(/[\s+]+/).filter(Boolean);
    if (!scopes.includes('openid') || scopes.some((s) => !['openid', 'profile', 'email'].includes(s)))
      return back({ error: 'invalid_scope' });
    const signedIn = new RegExp(`(?:^|;\\s*)${SLACK_BROWSER_COOKIE}=([^;]+)`).exec(cookieHeader ?? '')?.[1];
    const user = signedIn ? this.opts.workspace.users.get(decodeURIComponent(signedIn)) : undefined;
    if (!user || user.deleted) return page(401, 'not signed in to Slack');
    const teamId = user.teamId ?? this.opts.identity.teamId;
    const code = randomBytes(24).toString('hex');
    this.codes.set(code, {
      userId: user.id,
      teamId,
      clientId,
      redirectUri,
      nonce: query.get('nonce') ?? undefined,
      scopes,
      expiresAt: this.opts.clock.now() + CODE_TTL_MS,
      used: false,
    });
    this.signIns.push({ userId: user.id, teamId, clientId, at: Date.now() });
    return back({ code });
  }

  /** openid.connect.token: client credentials in the form (or HTTP Basic), one use per code. */
  async token(args: Json, authorization: string | undefined): Promise<Json> {
    let clientId = typeof args.client_id === 'string' ? args.client_id : undefined;
    let clientSecret = typeof args.client_secret === 'string' ? args.client_secret : undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (basic) [clientId, clientSecret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    if (clientId !== this.opts.identity.clientId) return { ok: false, error: 'invalid_client_id' };
    if (clientSecret !== this.opts.identity.clientSecret) return { ok: false, error: 'bad_client_secret' };
    const code = typeof args.code === 'string' ? this.codes.get(args.code) : undefined;
    if (!code || code.used || code.expiresAt < this.opts.clock.now() || code.clientId !== clientId)
      return { ok: false, error: 'invalid_code' };
    if (args.redirect_uri !== code.redirectUri) return { ok: false, error: 'bad_redirect_uri' };
    code.used = true;
    const { privateKey, kid } = await this.signingKeys();
    const user = this.opts.workspace.users.get(code.userId)!;
    const accessToken = `xoxp-fake-oidc-${randomBytes(12).toString('hex')}`;
    const t = this.tamper ?? {};
    const now = Math.floor(this.opts.clock.now() / 1000);
    const claims: Record<string, unknown> = {
      'https://slack.com/user_id': t.userId ?? code.userId,
      'https://slack.com/team_id': t.teamId ?? code.teamId,
      'https://slack.com/team_domain': this.opts.identity.teamDomain,
      auth_time: now,
      at_hash: createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url'),
    };
    if (code.nonce !== undefined || t.nonce !== undefined) claims.nonce = t.nonce ?? code.nonce;
    if (code.scopes.includes('profile')) Object.assign(claims, { name: user.realName, given_name: user.realName });
    if (code.scopes.includes('email') && user.email)
      Object.assign(claims, { email: user.email, email_verified: user.emailConfirmed });
    const idToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(t.issuer ?? this.opts.issuer())
      .setSubject(code.userId)
      .setAudience(t.audience ?? clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + (t.expiresIn ?? ID_TOKEN_TTL_S))
      .sign(t.foreignKey ? this.foreign! : privateKey);
    return { ok: true, access_token: accessToken, token_type: 'Bearer', id_token: idToken };
  }
}
