// The oauth identity adapter against the fake GitLab's OAuth provider and real Redis: PKCE link flow,
// tokens sealed at rest, refresh with rotation before expiry, one refresh when several race, and links
// that break (invalid_grant, revoked grant) and are linked again.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGreenlightError } from '../../src/core/errors.ts';
import { createGitLabOAuthClient } from '../../src/adapters/gitlab/oauth-client.ts';
import { createLinkStore, type LinkRead, type LinkStore } from '../../src/adapters/identity/link-store.ts';
import {
  createOAuthIdentity,
  UnknownStateError,
  type OAuthIdentity,
} from '../../src/adapters/identity/oauth-identity.ts';
import { createTokenCipher, type CipherKey } from '../../src/adapters/identity/token-cipher.ts';
import type { SlackSignIn } from '../../src/adapters/slack/sign-in.ts';
import { createLogger } from '../../src/adapters/logging/logger.ts';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { startFakeGitLab, type FakeGitLab, type FakeProject, type FakeUser } from '../fakes/fake-gitlab.ts';
import { call } from '../fakes/fake-gitlab/client.ts';
import { LogCapture } from '../helpers/app.ts';
import { KEY_A, KEY_B, OAUTH_CLIENT, REDIRECT_URI, refreshCalls } from '../helpers/oauth.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

const HOUR = 3_600_000;
const key = (id: string, base64: string): CipherKey => ({ id, key: Buffer.from(base64, 'base64') });
const A = key('keyA', KEY_A);
const B = key('keyB', KEY_B);

let fake: FakeGitLab;
let redis: Redis;
let prefix: string;
let alice: FakeUser;
let bob: FakeUser;
let project: FakeProject;
const logs = new LogCapture();
const logger = createLogger({ level: 'debug', destination: logs });
const keys = () => keyspace(prefix);
const ALICE = { teamId: 'T0001ABCD', userId: 'U0456ALICE' };
/** The hash of the linking browser's cookie (the routes compute it; the adapter only compares). */
const BROWSER = 'b'.repeat(64);

/** Sign in with Slack, reduced to who the browser is signed in as (the e2e tests run the real one). */
let signedInAs = ALICE;
const slackSignIn: SlackSignIn = {
  authorizeUrl: ({ state }) => `https://slack.test/openid/connect/authorize?state=${state}`,
  complete: async () => ({ ...signedInAs, name: 'Alice Approver' }),
};

/** Starts a link for `user` and passes the Slack leg in the same browser: GitLab's authorize URL. */
async function begin(identity: OAuthIdentity, user = ALICE): Promise<string> {
  signedInAs = user;
  const slack = new URL(await identity.beginLink(user, BROWSER));
  return identity.completeSlack({ state: slack.searchParams.get('state')!, code: 'slack-code', browser: BROWSER });
}

function makeIdentity(
  cipherKeys: CipherKey[] = [A],
  clientSecret = OAUTH_CLIENT.secret,
  wrap: (store: LinkStore) => LinkStore = (s) => s,
): OAuthIdentity {
  return createOAuthIdentity({
    store: wrap(createLinkStore(redis, keys(), createTokenCipher(cipherKeys))),
    oauth: createGitLabOAuthClient({
      url: fake.url,
      clientId: OAUTH_CLIENT.id,
      clientSecret,
      redirectUri: REDIRECT_URI,
    }),
    conn: { url: fake.url, token: 'never-used-to-act' },
    clock: { now: () => fake.now() },
    logger,
    slackSignIn,
  });
}

async function link(identity: OAuthIdentity, user = ALICE, gitlabUserId = alice.id) {
  const back = new URL(await fake.authorize(await begin(identity, user), gitlabUserId));
  return identity.completeLink({
    state: back.searchParams.get('state')!,
    code: back.searchParams.get('code')!,
    browser: BROWSER,
  });
}

/** The token pair GitLab issued most recently (as the fake answered it). */
function lastIssued(): { access_token: string; refresh_token: string } {
  const issued = fake.requests.filter((r) => r.path === '/oauth/token' && r.status === 200).at(-1);
  return issued!.responseBody as { access_token: string; refresh_token: string };
}

async function approveAs(identity: OAuthIdentity, user = ALICE) {
  const resolution = await identity.resolve(user);
  if (resolution.kind !== 'linked') throw new Error(`not linked: ${JSON.stringify(resolution)}`);
  const d = fake.createDeployment({ projectId: project.id, environment: 'production', userId: bob.id });
  const actor = await identity.actorFor(resolution.identity);
  await actor.recordDecision({ projectId: project.id, deploymentId: d.id }, { status: 'approved' });
  return fake.approvalCalls().find((c) => c.path.includes(`/deployments/${d.id}/`))!;
}

async function expectBroken(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isGreenlightError(error, 'identity_broken')).toBe(true);
  return (error as Error).message;
}

beforeAll(async () => {
  fake = await startFakeGitLab();
  alice = fake.addUser({ username: 'alice', name: 'Alice Approver', email: 'alice@acme.test' });
  bob = fake.addUser({ username: 'bob', email: 'bob@acme.test' });
  project = fake.addProject({ pathWithNamespace: 'acme/web' });
  for (const u of [alice, bob]) fake.addProjectMember(project.id, u.id, 40);
  fake.protectEnvironment(project.id, 'production', { approvalRules: [{ accessLevel: 40, requiredApprovals: 2 }] });
  fake.addOAuthApplication({
    clientId: OAUTH_CLIENT.id,
    clientSecret: OAUTH_CLIENT.secret,
    redirectUri: REDIRECT_URI,
    scopes: ['api', 'read_user'],
  });
  prefix = uniquePrefix('oauth-identity');
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await cleanupPrefix(prefix);
  await fake?.close();
});

describe('linking with authorization code + PKCE', () => {
  it('sends the person to GitLab with S256 PKCE and a single-use state that expires in 10 minutes', async () => {
    const identity = makeIdentity();
    const url = new URL(await begin(identity));
    expect(`${url.origin}${url.pathname}`).toBe(`${fake.url}/oauth/authorize`);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({
      client_id: OAUTH_CLIENT.id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'api read_user',
      code_challenge_method: 'S256',
    });
    expect(q.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = await redis.pttl(keys().oauthState(q.state!));
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    // The verifier stays in Redis; GitLab only ever sees the challenge.
    expect(await redis.get(keys().oauthState(q.state!))).toContain(ALICE.userId);

    const back = new URL(await fake.authorize(url.toString(), alice.id));
    const linked = await identity.completeLink({
      state: back.searchParams.get('state')!,
      code: back.searchParams.get('code')!,
      browser: BROWSER,
    });
    expect(linked).toEqual({
      user: ALICE,
      gitlab: { id: alice.id, username: 'alice', name: 'Alice Approver' },
      slackName: 'Alice Approver',
    });
    const exchange = fake.requests.find(
      (r) => r.path === '/oauth/token' && (r.body as { grant_type: string }).grant_type === 'authorization_code',
    )!;
    expect(exchange.body).toMatchObject({
      code_verifier: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      redirect_uri: REDIRECT_URI,
    });

    await expect(
      identity.completeLink({
        state: back.searchParams.get('state')!,
        code: back.searchParams.get('code')!,
        browser: BROWSER,
      }),
    ).rejects.toBeInstanceOf(UnknownStateError);
  });

  it('stores the link with the tokens sealed, and knows the person and their e-mail addresses', async () => {
    const identity = makeIdentity();
    await link(identity);
    const issued = lastIssued();
    const raw = (await redis.get(keys().identity(ALICE.teamId, ALICE.userId)))!;
    expect(raw).not.toContain(issued.access_token);
    expect(raw).not.toContain(issued.refresh_token);
    expect(JSON.parse(raw).sealed).toMatch(/^v1\.keyA\./);
    const resolution = await identity.resolve(ALICE);
    expect(resolution).toEqual({
      kind: 'linked',
      identity: {
        gitlab: { id: alice.id, username: 'alice', name: 'Alice Approver' },
        via: 'oauth',
        emails: ['alice@acme.test'],
      },
    });
    expect(await identity.slackUserFor({ id: alice.id, username: 'alice', name: 'Alice' })).toBe(ALICE.userId);
    expect(logs.text()).not.toContain(issued.access_token);
    expect(logs.text()).not.toContain(issued.refresh_token);
  });

  it("records a decision with the person's own token: never greenlight's", async () => {
    const identity = makeIdentity();
    await link(identity);
    const approval = await approveAs(identity);
    expect(approval).toMatchObject({
      status: 201,
      tokenKind: 'oauth',
      viaSudo: false,
      actingUser: { username: 'alice' },
      tokenUser: { username: 'alice' },
    });
    expect(approval.headers.authorization).toBe(`Bearer ${lastIssued().access_token}`);
    expect(approval.headers['private-token']).toBeUndefined();
  });
});

describe('refresh before expiry (2 h tokens, rotation)', () => {
  it('uses the token as is until 5 minutes before expiry, then refreshes once and rotates both tokens', async () => {
    const identity = makeIdentity();
    await link(identity);
    const first = lastIssued();
    const before = refreshCalls(fake).length;

    fake.advanceClock(2 * HOUR - 6 * 60_000);
    await approveAs(identity);
    expect(refreshCalls(fake).length).toBe(before);

    fake.advanceClock(2 * 60_000); // 4 minutes left: refresh first
    const approval = await approveAs(identity);
    expect(refreshCalls(fake).length).toBe(before + 1);
    const second = lastIssued();
    expect(second.access_token).not.toBe(first.access_token);
    expect(approval.headers.authorization).toBe(`Bearer ${second.access_token}`);
    // GitLab rotated: the old refresh token is dead, and greenlight never uses it again.
    const reuse = await call(fake.url, 'POST', '/oauth/token', {
      form: {
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
        client_id: OAUTH_CLIENT.id,
        client_secret: OAUTH_CLIENT.secret,
        redirect_uri: REDIRECT_URI,
      },
    });
    expect(reuse.body).toMatchObject({ error: 'invalid_grant' });
    const afterReuse = refreshCalls(fake).length;
    await approveAs(identity);
    expect(refreshCalls(fake).length).toBe(afterReuse);
    expect(logs.text()).not.toContain(second.refresh_token);
  });

  it('makes exactly one refresh call when several workers need a fresh token at once', async () => {
    const workers = [makeIdentity(), makeIdentity(), makeIdentity(), makeIdentity()];
    await link(workers[0]!);
    fake.advanceClock(2 * HOUR);
    const before = refreshCalls(fake).length;
    const results = await Promise.all(workers.flatMap((w) => [w.check(ALICE), w.check(ALICE)]));
    expect(results.map((r) => r.kind)).toEqual(Array(8).fill('works'));
    expect(refreshCalls(fake).length).toBe(before + 1);
  });

  it('re-reads the link once it holds the lock: a worker that saw the old tokens does not refresh again', async () => {
    const first = makeIdentity();
    await link(first);
    fake.advanceClock(2 * HOUR);
    const stale = await createLinkStore(redis, keys(), createTokenCipher([A])).read(ALICE);
    expect((await first.check(ALICE)).kind).toBe('works');
    const before = refreshCalls(fake).length;
    // This worker read the link (in resolve and before the lock) just before the other one refreshed it.
    let reads = 0;
    const late = makeIdentity([A], OAUTH_CLIENT.secret, (store) => ({
      ...store,
      read: async (user): Promise<LinkRead> => (++reads <= 2 ? stale : store.read(user)),
    }));
    expect((await late.check(ALICE)).kind).toBe('works');
    expect(reads).toBeGreaterThan(2);
    expect(refreshCalls(fake).length).toBe(before);
  });
});

describe('broken links', () => {
  it(
    'marks the link broken on invalid_grant (a reused ' + 'refresh token) and works again after linking again',
    async () => {
      const identity = makeIdentity();
      await link(identity);
      // Someone else spends the refresh token (the rotation greenlight's lock prevents among its own workers).
      const stolen = lastIssued();
      await call(fake.url, 'POST', '/oauth/token', {
        form: {
          grant_type: 'refresh_token',
          refresh_token: stolen.refresh_token,
          client_id: OAUTH_CLIENT.id,
          client_secret: OAUTH_CLIENT.secret,
          redirect_uri: REDIRECT_URI,
        },
      });
      fake.advanceClock(2 * HOUR);

      expect(await expectBroken(approveAs(identity))).toMatch(/refresh token/);
      expect(await identity.resolve(ALICE)).toEqual({
        kind: 'broken',
        reason: 'GitLab did not accept its refresh token any more',
      });
      expect(logs.find('gitlab link marked broken').at(-1)).toMatchObject({
        slackUser: ALICE.userId,
        gitlabUser: 'alice',
      });
      // Broken stays broken: no further refresh attempts until the person links again.
      const refreshes = refreshCalls(fake).length;
      expect(await identity.check(ALICE)).toEqual({
        kind: 'broken',
        reason: 'GitLab did not accept its refresh token any more',
      });
      expect(refreshCalls(fake).length).toBe(refreshes);

      await link(identity);
      expect((await identity.resolve(ALICE)).kind).toBe('linked');
      expect((await approveAs(identity)).status).toBe(201);
    },
  );

  it('marks the link broken when the person revokes greenlight in GitLab (401 invalid_token)', async () => {
    const identity = makeIdentity();
    await link(identity);
    fake.revokeGrant(alice.id);
    expect(await expectBroken(approveAs(identity))).toBe('access was revoked in GitLab');
    expect(await identity.check(ALICE)).toEqual({ kind: 'broken', reason: 'access was revoked in GitLab' });
    await link(identity);
    expect((await identity.check(ALICE)).kind).toBe('works');
  });

  it("does not blame the person when GitLab rejects greenlight's own OAuth application (invalid_client)", async () => {
    await link(makeIdentity());
    fake.advanceClock(2 * HOUR);
    const misconfigured = makeIdentity([A], 'wrong-secret');
    const status = await misconfigured.check(ALICE);
    expect(status).toMatchObject({ kind: 'failing', reason: expect.stringContaining('GITLAB_OAUTH_CLIENT_SECRET') });
    expect((await misconfigured.resolve(ALICE)).kind).toBe('linked');
    const failure = await approveAs(misconfigured).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toMatchObject({ code: 'gitlab_unauthorized', detail: 'invalid_client', retryable: false });
    expect((await makeIdentity().check(ALICE)).kind).toBe('works');
  });

  it('treats a record that does not decrypt (changed, or its key removed) as broken', async () => {
    const identity = makeIdentity();
    await link(identity);
    const k = keys().identity(ALICE.teamId, ALICE.userId);
    const record = JSON.parse((await redis.get(k))!);
    const parts = record.sealed.split('.');
    parts[3] = `A${parts[3].slice(1)}` === parts[3] ? `B${parts[3].slice(1)}` : `A${parts[3].slice(1)}`;
    await redis.set(k, JSON.stringify({ ...record, sealed: parts.join('.') }));
    expect(await identity.resolve(ALICE)).toEqual({ kind: 'broken', reason: 'the stored link could not be read' });
    await link(identity);
    expect(await makeIdentity([B]).resolve(ALICE)).toEqual({
      kind: 'broken',
      reason: 'its encryption key is no longer configured',
    });
    expect(await makeIdentity([B]).unlink(ALICE)).toEqual({ removed: true, gitlab: null, revoked: false });
    expect(await identity.resolve(ALICE)).toEqual({ kind: 'unlinked' });
  });
});

describe('key rotation', () => {
  it('reads links sealed with the old key and re-seals them with the new key on the next write', async () => {
    await link(makeIdentity([A]));
    const rotated = makeIdentity([B, A]);
    expect((await rotated.resolve(ALICE)).kind).toBe('linked');
    const sealedWith = async () =>
      JSON.parse((await redis.get(keys().identity(ALICE.teamId, ALICE.userId)))!).sealed.split('.')[1];
    expect(await sealedWith()).toBe('keyA');
    fake.advanceClock(2 * HOUR); // the refresh writes the link
    expect((await rotated.check(ALICE)).kind).toBe('works');
    expect(await sealedWith()).toBe('keyB');
    expect((await makeIdentity([B]).check(ALICE)).kind).toBe('works');
  });
});

describe('unlink', () => {
  it('deletes the tokens and revokes the grant at GitLab', async () => {
    const identity = makeIdentity();
    await link(identity);
    const issued = lastIssued();
    expect(await identity.unlink(ALICE)).toEqual({
      removed: true,
      gitlab: { id: alice.id, username: 'alice', name: 'Alice Approver' },
      revoked: true,
    });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/oauth/revoke', status: 200 });
    expect((await call(fake.url, 'GET', '/user', { bearer: issued.access_token })).status).toBe(401);
    expect(await redis.exists(keys().identity(ALICE.teamId, ALICE.userId), keys().slackOf(alice.id))).toBe(0);
    expect(await identity.resolve(ALICE)).toEqual({ kind: 'unlinked' });
    expect(await identity.unlink(ALICE)).toEqual({ removed: false, gitlab: null, revoked: false });
  });
});
