import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitLab, type FakeGitLab } from '../../fakes/fake-gitlab.ts';

// addProjects: the bulk form of addProject the scale benchmark builds 50,000 projects with.
describe('fake GitLab addProjects', () => {
  let gitlab: FakeGitLab;
  afterEach(() => gitlab.close());

  it('creates projects in the group as addProject would, listed by the group listing', async () => {
    gitlab = await startFakeGitLab();
    const admin = gitlab.addUser({ username: 'root', admin: true });
    gitlab.addToken({ token: 'glpat-root', userId: admin.id, scopes: ['api'] });
    const group = gitlab.addGroup({ path: 'scale' });
    const before = gitlab.addProject({ pathWithNamespace: 'scale/first' });
    const projects = gitlab.addProjects({ groupId: group.id, count: 150 });
    expect(projects).toHaveLength(150);
    expect(projects[0]).toMatchObject({ id: before.id + 1, pathWithNamespace: 'scale/project-0', groupId: group.id });
    expect(gitlab.addProject({ pathWithNamespace: 'scale/after' }).id).toBe(projects[149]!.id + 1);

    const res = await fetch(`${gitlab.url}/api/v4/groups/scale/projects?per_page=100&page=2`, {
      headers: { 'PRIVATE-TOKEN': 'glpat-root' },
    });
    expect(res.headers.get('x-total')).toBe('152');
    expect(((await res.json()) as unknown[]).length).toBe(52);
    expect(() => gitlab.addProjects({ groupId: group.id, count: 1 })).toThrow(/scale\/project-0 exists/);
  });
});
