import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectDirectory, type ProjectDirectory } from '../../../src/adapters/gitlab/projects.ts';
import { createGitLabReader } from '../../../src/adapters/gitlab/reader.ts';
import { startFakeGitLab, type FakeGitLab } from '../../fakes/fake-gitlab.ts';

const TOKEN = 'glpat-listing-reader-0001';

async function groupProjectIds(directory: ProjectDirectory, group: string): Promise<number[]> {
  const ids: number[] = [];
  for await (const page of directory.groupProjects(group)) ids.push(...page.map((p) => p.id));
  return ids;
}

describe('GitLab listing for the sweep (against the fake GitLab)', () => {
  let gitlab: FakeGitLab;
  const conn = () => ({ url: gitlab.url, token: TOKEN });

  beforeAll(async () => {
    gitlab = await startFakeGitLab();
    const admin = gitlab.addUser({ username: 'reader', name: 'reader', admin: true });
    gitlab.addToken({ token: TOKEN, userId: admin.id, scopes: ['api'] });
  });
  afterAll(async () => {
    await gitlab?.close();
  });

  it('lists every project of a group and its subgroups in id order, following every page', async () => {
    const ids = ['platform/a', 'platform/b', 'platform/tools/c', 'platform/tools/deep/d', 'platform/e'].map(
      (path) => gitlab.addProject({ pathWithNamespace: path }).id,
    );
    gitlab.addProject({ pathWithNamespace: 'elsewhere/x' });
    const directory = createProjectDirectory(conn(), { perPage: 2 });
    expect(await groupProjectIds(directory, 'platform')).toEqual(ids.sort((a, b) => a - b));
    const pages = gitlab.requests.filter((r) => r.path === '/api/v4/groups/platform/projects');
    expect(pages.map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
    expect(pages[0]!.query).toMatchObject({ include_subgroups: 'true', order_by: 'id', sort: 'asc', simple: 'true' });
  });

  it('tells whether protected environments of a project or of a group require approvals', async () => {
    const gated = gitlab.addProject({ pathWithNamespace: 'envs/sub/gated' });
    const open = gitlab.addProject({ pathWithNamespace: 'envs/open' });
    gitlab.protectEnvironment(gated.id, 'production', { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
    gitlab.protectEnvironment(open.id, 'production', { deployAccessLevels: [{ accessLevel: 40 }] });
    const directory = createProjectDirectory(conn());
    expect(await directory.projectRequiresApproval(gated.id)).toBe(true);
    expect(await directory.projectRequiresApproval(open.id)).toBe(false);
    expect(await directory.projectRequiresApproval(999_999)).toBe('gone');
    expect(await directory.groupRequiresApproval('envs/sub')).toBe(false);
    gitlab.protectGroupEnvironment(gated.groupId!, 'staging', {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 2 }],
    });
    expect(await directory.groupRequiresApproval('envs/sub')).toBe(true);
    expect(await directory.groupRequiresApproval('envs')).toBe(false);
    expect(await directory.groupRequiresApproval('no-such-group')).toBe(false);
    // a token without the Maintainer role on the group may not read them
    const guest = gitlab.addUser({ username: 'guest-reader', name: 'guest' });
    gitlab.addGroupMember(gated.groupId!, guest.id, 10);
    gitlab.addToken({ token: 'glpat-guest-reader-0001', userId: guest.id, scopes: ['read_api'] });
    const limited = createProjectDirectory({ url: gitlab.url, token: 'glpat-guest-reader-0001' });
    expect(await limited.groupRequiresApproval('envs/sub')).toBe('unknown');
    expect(await limited.projectRequiresApproval(gated.id)).toBe('unknown');
  });

  it('resolves project paths to ids and answers null for a project GitLab does not show', async () => {
    const project = gitlab.addProject({ pathWithNamespace: 'acme/resolve-me' });
    const directory = createProjectDirectory(conn());
    expect(await directory.project('acme/resolve-me')).toMatchObject({ id: project.id, path: 'acme/resolve-me' });
    expect(await directory.project('acme/no-such-project')).toBeNull();
    await expect(groupProjectIds(directory, 'no-such-group')).rejects.toMatchObject({ code: 'gitlab_not_found' });
  });

  it('lists more blocked deployments than fit on one page', async () => {
    const project = gitlab.addProject({ pathWithNamespace: 'acme/busy' });
    const bob = gitlab.addUser({ username: 'bob-busy', name: 'Bob' });
    gitlab.addProjectMember(project.id, bob.id, 40);
    gitlab.protectEnvironment(project.id, 'production', { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
    const created = Array.from(
      { length: 130 },
      () => gitlab.createDeployment({ projectId: project.id, environment: 'production', userId: bob.id }).id,
    );
    const listed = await createGitLabReader(conn()).listBlockedDeployments(project.id);
    expect(listed.map((d) => d.id).sort((a, b) => a - b)).toEqual(created.sort((a, b) => a - b));
    expect(gitlab.requests.filter((r) => r.path === `/api/v4/projects/${project.id}/deployments`)).toHaveLength(2);
  });

  it('maps a throttled answer to a rate limit with the wait GitLab asked for', async () => {
    const directory = createProjectDirectory(conn());
    gitlab.failNext({ path: '/api/v4/groups/platform/projects', status: 429, headers: { 'Retry-After': '7' } });
    await expect(groupProjectIds(directory, 'platform')).rejects.toMatchObject({
      code: 'gitlab_rate_limited',
      retryAfterMs: 7_000,
    });
    // Only RateLimit-Reset (unix seconds), no Retry-After: wait until the reset.
    const resetAt = (Math.floor(Date.now() / 1000) + 30) * 1000;
    gitlab.failNext({
      path: '/api/v4/groups/platform/projects',
      status: 429,
      body: 'Retry later\n',
      headers: { 'RateLimit-Reset': String(resetAt / 1000) },
    });
    const before = Date.now();
    const error = (await groupProjectIds(directory, 'platform').catch((e: unknown) => e)) as {
      code: string;
      retryAfterMs: number;
    };
    const after = Date.now();
    expect(error.code).toBe('gitlab_rate_limited');
    // until the reset, from the moment the answer came (between before and after)
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(resetAt - after);
    expect(error.retryAfterMs).toBeLessThanOrEqual(resetAt - before);
  });

  it('turns a GitLab that does not answer in time into a retryable error', async () => {
    const slow = createGitLabReader({ ...conn(), timeoutMs: 200 });
    const project = gitlab.addProject({ pathWithNamespace: 'acme/slow' });
    // held until the fake closes: only the client's own timeout can end the wait
    gitlab.failNext({ path: `/api/v4/projects/${project.id}/deployments`, until: new Promise(() => {}) });
    await expect(slow.listBlockedDeployments(project.id)).rejects.toMatchObject({
      code: 'gitlab_unavailable',
      retryable: true,
      detail: 'timeout',
    });
  });
});
