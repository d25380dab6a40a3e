import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMembership } from '../../../src/adapters/gitlab/membership.ts';
import { keyspace } from '../../../src/adapters/redis/connection.ts';
import { createLatestDeployments } from '../../../src/adapters/redis/latest-deployments.ts';
import type { MembershipPort } from '../../../src/core/approvals/eligible-approvers.ts';
import {
  ACCESS,
  startFakeGitLab,
  type FakeGitLab,
  type FakeGroup,
  type FakeProject,
  type FakeUser,
} from '../../fakes/fake-gitlab.ts';
import { rule } from '../../fixtures/deployments.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../../helpers/redis.ts';

describe('rule membership read from GitLab', () => {
  let fake: FakeGitLab;
  let acme: FakeGroup;
  let qa: FakeGroup;
  let project: FakeProject;
  let u: Record<'lead' | 'qa1' | 'qa2' | 'maint' | 'dev' | 'gone', FakeUser>;
  let membership: MembershipPort;

  beforeAll(async () => {
    fake = await startFakeGitLab();
    const admin = fake.addUser({ username: 'bot', admin: true });
    fake.addToken({ token: 'bot-token', userId: admin.id, scopes: ['read_api'] });
    acme = fake.addGroup({ path: 'acme', name: 'Acme' });
    qa = fake.addGroup({ path: 'qa', name: 'qa-group', parentId: acme.id });
    project = fake.addProject({ pathWithNamespace: 'acme/web' });
    u = {
      lead: fake.addUser({ username: 'lead' }),
      qa1: fake.addUser({ username: 'qa1' }),
      qa2: fake.addUser({ username: 'qa2' }),
      maint: fake.addUser({ username: 'maint' }),
      dev: fake.addUser({ username: 'dev' }),
      gone: fake.addUser({ username: 'gone', state: 'blocked' }),
    };
    fake.addGroupMember(acme.id, u.lead.id, ACCESS.maintainer);
    fake.addGroupMember(qa.id, u.qa1.id, ACCESS.developer);
    fake.addGroupMember(qa.id, u.qa2.id, ACCESS.developer);
    fake.addGroupMember(qa.id, u.gone.id, ACCESS.developer);
    fake.addProjectMember(project.id, u.maint.id, ACCESS.maintainer);
    fake.addProjectMember(project.id, u.dev.id, ACCESS.developer);
    membership = createMembership({ url: fake.url, token: 'bot-token' });
  });
  afterAll(async () => {
    await fake?.close();
  });

  const names = (users: Array<{ username: string }>) => users.map((x) => x.username).sort();

  it('reads direct group members, or inherited ones too when the rule says so; never blocked users', async () => {
    expect(
      names(
        await membership.ruleMembers(
          project.id,
          rule({ id: 2, accessLevel: null, groupId: qa.id, groupInheritanceType: 0 }),
        ),
      ),
    ).toEqual(['qa1', 'qa2']);
    expect(
      names(
        await membership.ruleMembers(
          project.id,
          rule({ id: 3, accessLevel: null, groupId: qa.id, groupInheritanceType: 1 }),
        ),
      ),
    ).toEqual(['lead', 'qa1', 'qa2']);
  });

  it(
    'reads project members (inherited from groups too) ' + 'with at least the role, and the user of a user rule',
    async () => {
      expect(names(await membership.ruleMembers(project.id, rule({ id: 4, accessLevel: ACCESS.maintainer })))).toEqual([
        'lead',
        'maint',
      ]);
      expect(names(await membership.ruleMembers(project.id, rule({ id: 5, accessLevel: ACCESS.developer })))).toEqual([
        'dev',
        'lead',
        'maint',
      ]);
      expect(
        names(await membership.ruleMembers(project.id, rule({ id: 6, accessLevel: null, userId: u.dev.id }))),
      ).toEqual(['dev']);
    },
  );

  it('caches what it read for a while', async () => {
    const before = fake.requests.length;
    await membership.ruleMembers(
      project.id,
      rule({ id: 2, accessLevel: null, groupId: qa.id, groupInheritanceType: 0 }),
    );
    await membership.ruleMembers(project.id, rule({ id: 4, accessLevel: ACCESS.maintainer }));
    expect(fake.requests.length).toBe(before);
  });
});

describe('newest deployment per environment (Redis)', () => {
  const prefix = uniquePrefix('latest');
  const redis = new Redis(TEST_REDIS_URL);
  const latest = createLatestDeployments(redis, keyspace(prefix));
  const env = { projectId: 42, environmentId: 7 };
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('keeps the highest id, says when it replaced one, and remembers which', async () => {
    expect(await latest.note(env, { id: 10, url: 'u10' })).toEqual({
      newest: { id: 10, url: 'u10' },
      replaced: true,
      previous: null,
    });
    expect(await latest.note(env, { id: 12, url: 'u12' })).toEqual({
      newest: { id: 12, url: 'u12' },
      replaced: true,
      previous: 10,
    });
    expect(await latest.note(env, { id: 11, url: 'u11' })).toEqual({
      newest: { id: 12, url: 'u12' },
      replaced: false,
      previous: 10,
    });
    expect(await latest.note(env, { id: 12, url: 'u12' })).toEqual({
      newest: { id: 12, url: 'u12' },
      replaced: false,
      previous: 10,
    });
    expect(await latest.note({ projectId: 42, environmentId: 8 }, { id: 11, url: 'u11' })).toMatchObject({
      newest: { id: 11 },
      previous: null,
    });
  });

  it('is atomic: of many concurrent notes the highest wins', async () => {
    const other = { projectId: 43, environmentId: 1 };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => latest.note(other, { id: 100 + i, url: `u${i}` })),
    );
    expect(results.filter((r) => r.newest.id === 119 && r.replaced)).toHaveLength(1);
    expect((await latest.note(other, { id: 1, url: 'x' })).newest.id).toBe(119);
  });
});
