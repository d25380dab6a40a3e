// The fake GitLab's REST surface: authentication (§3 table, §6 sudo), scopes, read endpoints, offset
// pagination and the deployment list/single shapes (§4, §5). Real HTTP against a fresh fake per test.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS, startFakeGitLab, type FakeGitLab, type FakeProject, type FakeUser } from '../../fakes/fake-gitlab.ts';
import { call, type CallOptions } from '../../fakes/fake-gitlab/client.ts';

let fake: FakeGitLab;
let root: FakeUser;
let alice: FakeUser;
let bob: FakeUser;
let project: FakeProject;

const api = (method: string, path: string, opts?: CallOptions) => call(fake.url, method, path, opts);

beforeEach(async () => {
  fake = await startFakeGitLab();
  root = fake.addUser({ username: 'root', name: 'Administrator', admin: true });
  alice = fake.addUser({ username: 'alice', name: 'Alice Liddell', email: 'alice@corp.example' });
  bob = fake.addUser({ username: 'bob', name: 'Bob Builder', publicEmail: 'bob@public.example' });
  const acme = fake.addGroup({ path: 'acme', name: 'Acme' });
  project = fake.addProject({ pathWithNamespace: 'acme/web', groupId: acme.id });
  fake.addGroupMember(acme.id, alice.id, ACCESS.developer);
  fake.addProjectMember(project.id, bob.id, ACCESS.maintainer);
  fake.addToken({ token: 'root-sudo', userId: root.id, scopes: ['api', 'sudo'] });
  fake.addToken({ token: 'root-api', userId: root.id, scopes: ['api'] });
  fake.addToken({ token: 'alice-api', userId: alice.id, scopes: ['api'] });
  fake.addToken({ token: 'alice-sudo', userId: alice.id, scopes: ['api', 'sudo'] });
  fake.addToken({ token: 'alice-read', userId: alice.id, scopes: ['read_api'] });
});

afterEach(async () => {
  await fake.close();
});

describe('authentication', () => {
  it('answers 401 {"message":"401 Unauthorized"} without a token or with an unknown one', async () => {
    for (const opts of [{}, { token: 'nope' }, { bearer: 'nope' }]) {
      const res = await api('GET', '/version', opts);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: '401 Unauthorized' });
    }
  });

  it('accepts PRIVATE-TOKEN and Authorization: Bearer, and records who acted', async () => {
    const viaHeader = await api('GET', '/version', { token: 'alice-api' });
    const viaBearer = await api('GET', '/user', { bearer: 'alice-api' });
    expect(viaHeader.body).toMatchObject({ version: '18.2.0-ee' });
    expect(viaBearer.body).toMatchObject({ id: alice.id, username: 'alice', email: 'alice@corp.example' });
    expect(fake.requests.map((r) => [r.actingUser?.username, r.viaSudo, r.tokenKind])).toEqual([
      ['alice', false, 'personal'],
      ['alice', false, 'personal'],
    ]);
  });

  it('serves the configured version', async () => {
    const other = await startFakeGitLab({ version: '19.3.1-ee' });
    try {
      other.addUser({ username: 'u' });
      other.addToken({ token: 't', userId: 1, scopes: ['read_api'] });
      const res = await call(other.url, 'GET', '/version', { token: 't' });
      expect(res.body).toMatchObject({ version: '19.3.1-ee', revision: expect.any(String) });
    } finally {
      await other.close();
    }
  });

  it('lets read_api read but answers 403 insufficient_scope on POST', async () => {
    const deployment = fake.createDeployment({ projectId: project.id, environment: 'staging', userId: bob.id });
    expect((await api('GET', `/projects/${project.id}/deployments`, { token: 'alice-read' })).status).toBe(200);
    const res = await api('POST', `/projects/${project.id}/deployments/${deployment.id}/approval`, {
      token: 'alice-read',
      json: { status: 'approved' },
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'The request requires higher privileges than provided by the access token.',
      scope: 'api',
    });
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('answers 401 invalid_token for an expired OAuth token, with WWW-Authenticate', async () => {
    fake.addToken({ token: 'alice-oauth', userId: alice.id, scopes: ['api'], kind: 'oauth' });
    expect((await api('GET', '/user', { bearer: 'alice-oauth' })).status).toBe(200);
    fake.advanceClock(7200 * 1000);
    const res = await api('GET', '/user', { bearer: 'alice-oauth' });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: 'invalid_token',
      error_description: 'Token is expired. You can either do re-authorization or token refresh.',
    });
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="Protected by OAuth 2.0", error="invalid_token"/,
    );
  });

  it('answers 401 "Token was revoked" for a revoked token', async () => {
    fake.revokeToken('alice-api');
    const res = await api('GET', '/user', { token: 'alice-api' });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: 'invalid_token',
      error_description: 'Token was revoked. You have to re-authorize from the user.',
    });
  });

  it('expires a PAT at the start of its expires_at day', async () => {
    const tomorrow = new Date(fake.now() + 86_400_000).toISOString().slice(0, 10);
    fake.addToken({ token: 'short', userId: alice.id, scopes: ['api'], expiresAt: tomorrow });
    const self = await api('GET', '/personal_access_tokens/self', { token: 'short' });
    expect(self.body).toMatchObject({ scopes: ['api'], active: true, expires_at: tomorrow, user_id: alice.id });
    fake.advanceClock(2 * 86_400_000);
    expect((await api('GET', '/personal_access_tokens/self', { token: 'short' })).status).toBe(401);
  });
});

describe('sudo (§6)', () => {
  it('acts as the target user (header or ?sudo=, id or username) and records it', async () => {
    const byName = await api('GET', '/user', { token: 'root-sudo', sudo: 'alice' });
    const byId = await api('GET', `/user?sudo=${bob.id}`, { token: 'root-sudo' });
    expect(byName.body).toMatchObject({ username: 'alice' });
    expect(byId.body).toMatchObject({ username: 'bob' });
    expect(fake.requests.map((r) => [r.actingUser?.username, r.tokenUser?.username, r.viaSudo])).toEqual([
      ['alice', 'root', true],
      ['bob', 'root', true],
    ]);
  });

  it('checks admin first, then the sudo scope, then the user', async () => {
    const notAdmin = await api('GET', '/user', { token: 'alice-sudo', sudo: 'bob' });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body).toEqual({ message: '403 Forbidden - Must be admin to use sudo' });

    // A non-admin without the sudo scope still hears "Must be admin" (admin is checked first).
    const notAdminNoScope = await api('GET', '/user', { token: 'alice-api', sudo: 'bob' });
    expect(notAdminNoScope.body).toEqual({ message: '403 Forbidden - Must be admin to use sudo' });

    const noScope = await api('GET', '/user', { token: 'root-api', sudo: 'bob' });
    expect(noScope.status).toBe(403);
    expect(noScope.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'The request requires higher privileges than provided by the access token.',
      scope: 'sudo',
    });

    // An unknown user with a token lacking sudo: the scope error comes first.
    expect((await api('GET', '/user', { token: 'root-api', sudo: '999' })).status).toBe(403);

    const unknown = await api('GET', '/user', { token: 'root-sudo', sudo: '123' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ message: "404 User with ID or username '123' Not Found" });
  });

  it('runs with the target user permissions (an approval is attributed to them)', async () => {
    fake.protectEnvironment(project.id, 'production', {
      approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
    });
    const deployment = fake.createDeployment({ projectId: project.id, environment: 'production', userId: alice.id });
    const res = await api('POST', `/projects/${project.id}/deployments/${deployment.id}/approval`, {
      token: 'root-sudo',
      sudo: 'bob',
      json: { status: 'approved' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ user: { username: 'bob' }, status: 'approved' });
    expect(fake.approvalCalls()).toHaveLength(1);
    expect(fake.approvalCalls()[0]).toMatchObject({
      actingUser: { id: bob.id, username: 'bob' },
      viaSudo: true,
      status: 201,
    });
  });
});

describe('users', () => {
  it('finds by exact username', async () => {
    fake.addUser({ username: 'alice2' });
    const res = await api('GET', '/users?username=alice', { token: 'alice-api' });
    expect(res.body).toEqual([expect.objectContaining({ id: alice.id, username: 'alice' })]);
  });

  it('matches private emails only for admins, who also see email', async () => {
    const asUser = await api('GET', '/users?search=alice@corp.example', { token: 'alice-read' });
    expect(asUser.body).toEqual([]);
    const asAdmin = await api('GET', '/users?search=alice@corp.example', { token: 'root-api' });
    expect(asAdmin.body).toEqual([
      expect.objectContaining({ username: 'alice', email: 'alice@corp.example', is_admin: false }),
    ]);
    const publicEmail = await api('GET', '/users?search=bob@public.example', { token: 'alice-read' });
    expect(publicEmail.body).toEqual([
      expect.objectContaining({ username: 'bob', public_email: 'bob@public.example' }),
    ]);
    expect(publicEmail.body).toEqual([expect.not.objectContaining({ email: expect.anything() })]);
  });

  it('gets a user by id, 404 otherwise', async () => {
    expect((await api('GET', `/users/${bob.id}`, { token: 'alice-api' })).body).toMatchObject({
      id: bob.id,
      name: 'Bob Builder',
    });
    expect(await api('GET', '/users/999', { token: 'alice-api' })).toMatchObject({
      status: 404,
      body: { message: '404 User Not Found' },
    });
  });
});

describe('projects, groups, members, protected environments', () => {
  it('resolves a project by id or URL-encoded path', async () => {
    const byPath = await api('GET', '/projects/acme%2Fweb', { token: 'alice-api' });
    expect(byPath.status).toBe(200);
    expect(byPath.body).toMatchObject({
      id: project.id,
      name: 'web',
      path_with_namespace: 'acme/web',
      web_url: `${fake.url}/acme/web`,
      default_branch: 'main',
      namespace: { name: 'Acme', full_path: 'acme', kind: 'group' },
      allow_pipeline_trigger_approve_deployment: false,
    });
    const outsider = fake.addUser({ username: 'eve' });
    fake.addToken({ token: 'eve', userId: outsider.id, scopes: ['api'] });
    expect(await api('GET', `/projects/${project.id}`, { token: 'eve' })).toMatchObject({
      status: 404,
      body: { message: '404 Project Not Found' },
    });
  });

  it('lists group projects with include_subgroups', async () => {
    fake.addProject({ pathWithNamespace: 'acme/payments/api' });
    const direct = await api('GET', '/groups/acme/projects', { token: 'root-api' });
    const all = await api('GET', '/groups/acme/projects?include_subgroups=true', { token: 'root-api' });
    expect((direct.body as Array<{ path_with_namespace: string }>).map((p) => p.path_with_namespace)).toEqual([
      'acme/web',
    ]);
    expect((all.body as Array<{ path_with_namespace: string }>).map((p) => p.path_with_namespace).sort()).toEqual([
      'acme/payments/api',
      'acme/web',
    ]);
    expect(all.headers.get('x-total')).toBe('2');
  });

  it('lists inherited members with their highest access level', async () => {
    const res = await api('GET', `/projects/${project.id}/members/all`, { token: 'alice-api' });
    const rows = res.body as Array<{ username: string; access_level: number; state: string }>;
    expect(rows.map((m) => [m.username, m.access_level, m.state])).toEqual([
      ['alice', 30, 'active'],
      ['bob', 40, 'active'],
    ]);
    const group = await api('GET', '/groups/acme/members', { token: 'alice-api' });
    expect((group.body as Array<{ username: string }>).map((m) => m.username)).toEqual(['alice']);
  });

  it('lists project and group protected environments with rules', async () => {
    const acme = 1;
    fake.protectEnvironment(project.id, 'production', {
      approvalRules: [{ userId: bob.id, requiredApprovals: 1 }],
    });
    fake.protectGroupEnvironment(acme, 'production', {
      approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 2 }],
    });
    const projectLevel = await api('GET', `/projects/${project.id}/protected_environments`, { token: 'root-api' });
    expect(projectLevel.body).toEqual([
      {
        name: 'production',
        deploy_access_levels: [
          expect.objectContaining({
            access_level: 40,
            access_level_description: 'Maintainers',
            user_id: null,
            group_id: null,
          }),
        ],
        required_approval_count: 0,
        approval_rules: [
          expect.objectContaining({
            user_id: bob.id,
            access_level_description: 'Bob Builder',
            required_approvals: 1,
            group_inheritance_type: 0,
          }),
        ],
      },
    ]);
    const groupLevel = await api('GET', `/groups/${acme}/protected_environments`, { token: 'root-api' });
    expect(groupLevel.body).toEqual([
      expect.objectContaining({
        name: 'production',
        approval_rules: [expect.objectContaining({ access_level: 40, required_approvals: 2 })],
      }),
    ]);
    expect((await api('GET', `/projects/${project.id}/protected_environments`, { token: 'alice-api' })).status).toBe(
      403,
    );
  });

  it('gets an environment with its tier', async () => {
    const deployment = fake.createDeployment({ projectId: project.id, environment: 'prod-eu', userId: bob.id });
    const res = await api('GET', `/projects/${project.id}/environments/${deployment.environmentId}`, {
      token: 'alice-api',
    });
    expect(res.body).toMatchObject({
      id: deployment.environmentId,
      name: 'prod-eu',
      tier: 'production',
      slug: expect.stringMatching(/^prod-eu/),
    });
  });
});

describe('deployments list (§5)', () => {
  it('paginates with offset headers and Link', async () => {
    for (let i = 0; i < 25; i += 1)
      fake.createDeployment({ projectId: project.id, environment: 'staging', userId: bob.id });
    const first = await api('GET', `/projects/${project.id}/deployments`, { token: 'alice-api' });
    expect(first.headers.get('x-page')).toBe('1');
    expect(first.headers.get('x-per-page')).toBe('20');
    expect(first.headers.get('x-next-page')).toBe('2');
    expect(first.headers.get('x-prev-page')).toBe('');
    expect(first.headers.get('x-total')).toBe('25');
    expect(first.headers.get('x-total-pages')).toBe('2');
    expect(first.headers.get('link')).toContain('page=2&per_page=20>; rel="next"');
    expect(first.headers.get('link')).toContain('rel="first"');
    expect(first.headers.get('link')).toContain('rel="last"');
    expect(first.body).toHaveLength(20);

    const last = await api('GET', `/projects/${project.id}/deployments?page=2`, { token: 'alice-api' });
    expect(last.headers.get('x-next-page')).toBe('');
    expect(last.headers.get('x-prev-page')).toBe('1');
    expect(last.headers.get('link')).toContain('rel="prev"');
    expect(last.headers.get('link')).not.toContain('rel="next"');
    expect((last.body as Array<{ id: number }>).map((d) => d.id)).toEqual([21, 22, 23, 24, 25]);

    const capped = await api('GET', `/projects/${project.id}/deployments?per_page=500`, { token: 'alice-api' });
    expect(capped.headers.get('x-per-page')).toBe('100');
    expect(capped.body).toHaveLength(25);
  });

  it('has no approval fields in list items, unlike the single GET', async () => {
    fake.protectEnvironment(project.id, 'production', {
      approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
    });
    const deployment = fake.createDeployment({ projectId: project.id, environment: 'production', userId: alice.id });
    const list = await api('GET', `/projects/${project.id}/deployments?status=blocked`, { token: 'alice-api' });
    const [item] = list.body as Array<Record<string, unknown>>;
    expect(item).toMatchObject({
      id: deployment.id,
      status: 'blocked',
      deployable: { id: deployment.jobId, status: 'manual' },
    });
    expect(item).not.toHaveProperty('pending_approval_count');
    expect(item).not.toHaveProperty('approvals');
    expect(item).not.toHaveProperty('approval_summary');

    const single = await api('GET', `/projects/${project.id}/deployments/${deployment.id}`, { token: 'alice-api' });
    expect(single.body).toMatchObject({
      id: deployment.id,
      iid: 1,
      status: 'blocked',
      ref: 'main',
      user: { id: alice.id, username: 'alice' },
      environment: { id: deployment.environmentId, name: 'production', slug: 'production', external_url: null },
      deployable: {
        id: deployment.jobId,
        status: 'manual',
        stage: 'deploy',
        web_url: `${fake.url}/acme/web/-/jobs/${deployment.jobId}`,
        commit: { id: deployment.sha, short_id: deployment.sha.slice(0, 8), title: 'Update deployment' },
        pipeline: { id: deployment.pipelineId, status: 'manual' },
      },
      pending_approval_count: 1,
      approvals: [],
      approval_summary: {
        rules: [
          {
            id: expect.any(Number),
            user_id: null,
            group_id: null,
            access_level: 40,
            access_level_description: 'Maintainers',
            required_approvals: 1,
            group_inheritance_type: 0,
            deployment_approvals: [],
          },
        ],
      },
    });
  });

  it('filters by status and environment and sorts', async () => {
    const a = fake.createDeployment({ projectId: project.id, environment: 'staging', userId: bob.id });
    const b = fake.createDeployment({ projectId: project.id, environment: 'review/x', userId: bob.id, manual: true });
    fake.finishJob(a.jobId, 'success');
    const blocked = await api('GET', `/projects/${project.id}/deployments?status=blocked`, { token: 'alice-api' });
    expect((blocked.body as Array<{ id: number }>).map((d) => d.id)).toEqual([b.id]);
    const staging = await api('GET', `/projects/${project.id}/deployments?environment=staging`, { token: 'alice-api' });
    expect((staging.body as Array<{ id: number }>).map((d) => d.id)).toEqual([a.id]);
    const desc = await api('GET', `/projects/${project.id}/deployments?sort=desc`, { token: 'alice-api' });
    expect((desc.body as Array<{ id: number }>).map((d) => d.id)).toEqual([b.id, a.id]);
  });

  it('rejects bad filters with the finder messages', async () => {
    const base = `/projects/${project.id}/deployments`;
    expect(await api('GET', `${base}?updated_after=2024-01-01T00:00:00Z`, { token: 'alice-api' })).toMatchObject({
      status: 400,
      body: { message: '400 Bad request - `updated_at` filter requires `updated_at` sort' },
    });
    expect(
      await api('GET', `${base}?order_by=finished_at&finished_after=2024-01-01T00:00:00Z`, { token: 'alice-api' }),
    ).toMatchObject({
      status: 400,
      body: { message: '400 Bad request - `finished_at` filter must be combined with `success` status filter.' },
    });
    expect(await api('GET', `${base}?status=waiting`, { token: 'alice-api' })).toMatchObject({
      status: 400,
      body: { error: 'status does not have a valid value' },
    });
    const ok = await api('GET', `${base}?order_by=updated_at&updated_after=2000-01-01T00:00:00Z`, {
      token: 'alice-api',
    });
    expect(ok.status).toBe(200);
  });
});

describe('unknown routes', () => {
  it('answer 404 and are listed as unexpected', async () => {
    const res = await api('GET', `/projects/${project.id}/deployments/1/approvals`, { token: 'alice-api' });
    expect(res).toMatchObject({ status: 404, body: { message: '404 Not Found' } });
    await api('GET', '/version', { token: 'alice-api' });
    expect(fake.unexpectedRequests().map((r) => r.path)).toEqual([
      `/api/v4/projects/${project.id}/deployments/1/approvals`,
    ]);
  });
});

describe('hooks API', () => {
  it('creates, lists, updates and deletes project hooks; the token is write-only', async () => {
    const created = await api('POST', `/projects/${project.id}/hooks`, {
      token: 'root-api',
      form: {
        url: 'https://bot.example/webhooks/gitlab',
        token: 'secret',
        deployment_events: 'true',
        push_events: 'false',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: 'https://bot.example/webhooks/gitlab',
      deployment_events: true,
      pipeline_events: false,
      job_events: false,
      push_events: false,
      enable_ssl_verification: true,
      alert_status: 'executable',
      disabled_until: null,
    });
    expect(created.body).not.toHaveProperty('token');
    const id = (created.body as { id: number }).id;
    const updated = await api('PUT', `/projects/${project.id}/hooks/${id}`, {
      token: 'root-api',
      json: { pipeline_events: true },
    });
    expect(updated.body).toMatchObject({ id, pipeline_events: true, deployment_events: true });
    expect(fake.getHook(id)).toMatchObject({ token: 'secret', pipelineEvents: true });
    expect((await api('GET', `/projects/${project.id}/hooks`, { token: 'root-api' })).body).toHaveLength(1);
    expect((await api('DELETE', `/projects/${project.id}/hooks/${id}`, { token: 'root-api' })).status).toBe(204);
    expect((await api('GET', `/projects/${project.id}/hooks`, { token: 'root-api' })).body).toEqual([]);
    expect(
      (await api('POST', `/projects/${project.id}/hooks`, { token: 'alice-api', json: { url: 'https://x.example' } }))
        .status,
    ).toBe(403);
    expect(await api('POST', `/projects/${project.id}/hooks`, { token: 'root-api', json: {} })).toMatchObject({
      status: 400,
      body: { error: 'url is missing' },
    });
  });

  it('manages group hooks', async () => {
    const res = await api('POST', '/groups/acme/hooks', {
      token: 'root-api',
      json: { url: 'https://bot.example/h', job_events: true },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ group_id: 1, job_events: true });
    expect((await api('GET', '/groups/1/hooks', { token: 'root-api' })).body).toHaveLength(1);
  });
});
