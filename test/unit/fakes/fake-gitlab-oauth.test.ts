// OAuth 2 (§6): authorization code + PKCE, single-use codes, 2 h expiry on the fake clock, refresh
// rotation (old pair dies, reuse -> invalid_grant), revoke, and the user revoking the app.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS, FakeGitLabError, startFakeGitLab, type FakeGitLab, type FakeUser } from '../../fakes/fake-gitlab.ts';
import { call } from '../../fakes/fake-gitlab/client.ts';

const REDIRECT = 'https://greenlight.example/oauth/gitlab/callback';
const INVALID_GRANT = {
  error: 'invalid_grant',
  error_description:
    'The provided authorization grant is invalid, expired, revoked, does not match the ' +
    'redirection URI used in the authorization request, or was issued to another client.',
};

let fake: FakeGitLab;
let alice: FakeUser;

interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  created_at: number;
  scope: string;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(params: Record<string, string>): string {
  const url = new URL('/oauth/authorize', fake.url);
  const defaults = {
    client_id: 'greenlight',
    redirect_uri: REDIRECT,
    response_type: 'code',
    state: 'st-123',
    scope: 'api read_user',
  };
  for (const [key, value] of Object.entries({ ...defaults, ...params })) url.searchParams.set(key, value);
  return url.toString();
}

const token = (form: Record<string, string>) => call(fake.url, 'POST', '/oauth/token', { form });

async function codeFor(userId: number, challenge: string): Promise<string> {
  const location = new URL(
    await fake.authorize(authorizeUrl({ code_challenge: challenge, code_challenge_method: 'S256' }), userId),
  );
  return location.searchParams.get('code') ?? '';
}

async function linkAlice(): Promise<TokenResponse> {
  const { verifier, challenge } = pkce();
  const code = await codeFor(alice.id, challenge);
  const res = await token({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    client_id: 'greenlight',
    client_secret: 'shh',
    code_verifier: verifier,
  });
  expect(res.status).toBe(200);
  return res.body as TokenResponse;
}

const refresh = (refreshToken: string) =>
  token({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: 'greenlight',
    client_secret: 'shh',
    redirect_uri: REDIRECT,
  });

beforeEach(async () => {
  fake = await startFakeGitLab();
  alice = fake.addUser({ username: 'alice' });
  fake.addOAuthApplication({
    clientId: 'greenlight',
    clientSecret: 'shh',
    redirectUri: REDIRECT,
    scopes: ['api', 'read_user'],
  });
});

afterEach(async () => {
  await fake.close();
});

describe('authorize', () => {
  it('redirects to redirect_uri with code and state', async () => {
    const location = new URL(await fake.authorize(authorizeUrl({}), alice.id));
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('st-123');
    expect(location.searchParams.get('code')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers a plain GET with X-Fake-User (or cookie) like a signed-in browser, else sends to sign-in', async () => {
    const signedIn = await call(fake.url, 'GET', authorizeUrl({}), { headers: { 'X-Fake-User': 'alice' } });
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get('location')).toMatch(
      /^https:\/\/greenlight\.example\/oauth\/gitlab\/callback\?code=[0-9a-f]+&state=st-123$/,
    );
    const viaCookie = await call(fake.url, 'GET', authorizeUrl({}), {
      headers: { Cookie: `fake_gitlab_user=${alice.id}` },
    });
    expect(viaCookie.status).toBe(302);
    const anonymous = await call(fake.url, 'GET', authorizeUrl({}));
    expect(anonymous.headers.get('location')).toBe(`${fake.url}/users/sign_in`);
  });

  it('shows an error page (no redirect) for an unknown client or an unregistered redirect_uri', async () => {
    await expect(fake.authorize(authorizeUrl({ client_id: 'nope' }), alice.id)).rejects.toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    await expect(
      fake.authorize(authorizeUrl({ redirect_uri: 'https://evil.example/cb' }), alice.id),
    ).rejects.toBeInstanceOf(FakeGitLabError);
    const page = await call(fake.url, 'GET', authorizeUrl({ redirect_uri: 'https://evil.example/cb' }), {
      headers: { 'X-Fake-User': 'alice' },
    });
    expect(page).toMatchObject({ status: 400, body: { error: 'invalid_redirect_uri' } });
  });

  it('redirects with an error for a bad scope, response_type or a denial', async () => {
    const scope = new URL(await fake.authorize(authorizeUrl({ scope: 'api sudo' }), alice.id));
    expect(Object.fromEntries(scope.searchParams)).toEqual({
      error: 'invalid_scope',
      error_description: 'The requested scope is invalid, unknown, or malformed.',
      state: 'st-123',
    });
    const type = new URL(await fake.authorize(authorizeUrl({ response_type: 'token' }), alice.id));
    expect(type.searchParams.get('error')).toBe('unsupported_response_type');
    const denied = new URL(await fake.authorize(authorizeUrl({}), alice.id, { deny: true }));
    expect(denied.searchParams.get('error')).toBe('access_denied');
  });
});

describe('token: authorization_code + PKCE', () => {
  it('exchanges a code for a bearer token pair that acts as the user', async () => {
    const before = Math.floor(fake.now() / 1000);
    const body = await linkAlice();
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[0-9a-f]{64}$/),
      token_type: 'bearer',
      expires_in: 7200,
      refresh_token: expect.stringMatching(/^[0-9a-f]{64}$/),
      scope: 'api read_user',
      created_at: expect.any(Number),
    });
    expect(body.created_at).toBeGreaterThanOrEqual(before);
    const me = await call(fake.url, 'GET', '/user', { bearer: body.access_token });
    expect(me.body).toMatchObject({ username: 'alice' });
    expect(fake.requests.at(-1)).toMatchObject({ tokenKind: 'oauth', actingUser: { username: 'alice' } });
  });

  it('rejects a wrong verifier, a wrong redirect_uri, a reused code, a wrong secret', async () => {
    const { verifier, challenge } = pkce();
    const base = {
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT,
      client_id: 'greenlight',
      client_secret: 'shh',
    };
    const code1 = await codeFor(alice.id, challenge);
    expect(await token({ ...base, code: code1, code_verifier: pkce().verifier })).toMatchObject({
      status: 400,
      body: INVALID_GRANT,
    });
    const code2 = await codeFor(alice.id, challenge);
    expect(
      await token({ ...base, code: code2, code_verifier: verifier, redirect_uri: 'https://greenlight.example/other' }),
    ).toMatchObject({
      status: 400,
      body: INVALID_GRANT,
    });
    const code3 = await codeFor(alice.id, challenge);
    expect(await token({ ...base, code: code3, code_verifier: verifier, client_secret: 'wrong' })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    expect((await token({ ...base, code: code3, code_verifier: verifier })).status).toBe(200);
    expect(await token({ ...base, code: code3, code_verifier: verifier })).toMatchObject({
      status: 400,
      body: INVALID_GRANT,
    });
  });

  it('expires codes after 10 minutes', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(alice.id, challenge);
    fake.advanceClock(601_000);
    const res = await token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: 'greenlight',
      client_secret: 'shh',
      code_verifier: verifier,
    });
    expect(res).toMatchObject({ status: 400, body: INVALID_GRANT });
  });
});

describe('expiry and refresh rotation', () => {
  it('expires the access token after two hours on the fake clock', async () => {
    const pair = await linkAlice();
    fake.advanceClock(7199 * 1000);
    expect((await call(fake.url, 'GET', '/user', { bearer: pair.access_token })).status).toBe(200);
    fake.advanceClock(1000);
    const expired = await call(fake.url, 'GET', '/user', { bearer: pair.access_token });
    expect(expired).toMatchObject({
      status: 401,
      body: {
        error: 'invalid_token',
        error_description: 'Token is expired. You can either do re-authorization or token refresh.',
      },
    });
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('rotates on refresh: the old access and refresh tokens die, reuse is invalid_grant', async () => {
    const first = await linkAlice();
    fake.advanceClock(3 * 3600 * 1000);
    const rotated = await refresh(first.refresh_token);
    expect(rotated.status).toBe(200);
    const second = rotated.body as TokenResponse;
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second).toMatchObject({ token_type: 'bearer', expires_in: 7200, scope: 'api read_user' });
    expect((await call(fake.url, 'GET', '/user', { bearer: second.access_token })).status).toBe(200);

    const reuse = await refresh(first.refresh_token);
    expect(reuse).toMatchObject({ status: 400, body: INVALID_GRANT });
    // A refresh before expiry also kills the still-valid old access token.
    const third = (await refresh(second.refresh_token)).body as TokenResponse;
    expect(await call(fake.url, 'GET', '/user', { bearer: second.access_token })).toMatchObject({
      status: 401,
      body: { error: 'invalid_token', error_description: 'Token was revoked. You have to re-authorize from the user.' },
    });
    expect((await call(fake.url, 'GET', '/user', { bearer: third.access_token })).status).toBe(200);
  });

  it('POST /oauth/revoke returns {} and kills the pair', async () => {
    const pair = await linkAlice();
    const res = await call(fake.url, 'POST', '/oauth/revoke', {
      form: { token: pair.access_token, client_id: 'greenlight', client_secret: 'shh' },
    });
    expect(res).toMatchObject({ status: 200, body: {} });
    expect((await call(fake.url, 'GET', '/user', { bearer: pair.access_token })).status).toBe(401);
    expect(await refresh(pair.refresh_token)).toMatchObject({ status: 400, body: INVALID_GRANT });
  });

  it('revokeGrant: the user removes the app in GitLab', async () => {
    const pair = await linkAlice();
    fake.revokeGrant(alice.id);
    expect(await call(fake.url, 'GET', '/user', { bearer: pair.access_token })).toMatchObject({
      status: 401,
      body: { error_description: 'Token was revoked. You have to re-authorize from the user.' },
    });
    expect(await refresh(pair.refresh_token)).toMatchObject({ status: 400, body: INVALID_GRANT });
  });

  it('an OAuth token approves as its user; read_user alone cannot', async () => {
    const project = fake.addProject({ pathWithNamespace: 'acme/web' });
    const creator = fake.addUser({ username: 'creator' });
    fake.addProjectMember(project.id, alice.id, ACCESS.maintainer);
    fake.protectEnvironment(project.id, 'production', {
      approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
    });
    const d = fake.createDeployment({ projectId: project.id, environment: 'production', userId: creator.id });
    fake.addToken({ token: 'alice-read-user', userId: alice.id, scopes: ['read_user'], kind: 'oauth' });
    const path = `/projects/${project.id}/deployments/${d.id}/approval`;
    expect(
      (await call(fake.url, 'POST', path, { bearer: 'alice-read-user', json: { status: 'approved' } })).status,
    ).toBe(403);
    const pair = await linkAlice();
    expect(
      await call(fake.url, 'POST', path, { bearer: pair.access_token, json: { status: 'approved' } }),
    ).toMatchObject({
      status: 201,
      body: { user: { username: 'alice' } },
    });
  });
});
