import { GroupMembers, ProjectMembers } from '@gitbeaker/rest';
import { z } from 'zod';
import type { MembershipPort } from '../../core/approvals/eligible-approvers.ts';
import type { ApprovalRule, GitLabUser } from '../../core/deployments/deployment.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import { mapGitLabError } from './client.ts';
import { gitbeakerOptions, type GitLabConnection } from './reader.ts';

const MemberSchema = z.array(
  z.object({
    id: z.number(),
    username: z.string(),
    name: z.string().nullish(),
    state: z.string().nullish(),
    access_level: z.number(),
  }),
);
type Member = z.infer<typeof MemberSchema>[number];

/**
 * Rule membership the way GitLab checks it: user rules name one user; group rules read the group's
 * members (inherited ones too when group_inheritance_type is 1); role rules read the project's members
 * (direct and inherited) with at least that access level. Cached ten minutes (MEMBERS_TTL_MS): membership
 * changes are rare, GitLab re-checks every approval anyway, and a waiting card is synced again every sweep: kept
 * two minutes, the member listings were a third of a sweep's GitLab requests at 10,000 projects (bench, issue 17).
 */
export const MEMBERS_TTL_MS = 10 * 60_000;

export function createMembership(conn: GitLabConnection, opts: { ttlMs?: number } = {}): MembershipPort {
  const options = gitbeakerOptions(conn, { token: conn.token });
  const groups = new GroupMembers(options);
  const projects = new ProjectMembers(options);
  const cache = new TtlCache<string, Member[]>({ ttlMs: opts.ttlMs ?? MEMBERS_TTL_MS, max: 2_000 });

  const load = (key: string, what: string, fn: () => Promise<unknown>) =>
    cache.getOrLoad(key, async () => {
      try {
        return MemberSchema.parse(await fn());
      } catch (error) {
        throw mapGitLabError(error, what);
      }
    });
  const active = (m: Member): GitLabUser | null =>
    m.state && m.state !== 'active' ? null : { id: m.id, username: m.username, name: m.name ?? m.username };

  return {
    async ruleMembers(projectId: number, rule: ApprovalRule): Promise<GitLabUser[]> {
      if (rule.userId !== null) {
        const all = await load(`p:${projectId}`, `GET members of project ${projectId}`, () =>
          projects.all(projectId, { includeInherited: true, perPage: 100, maxPages: 20 } as never),
        );
        const found = all.find((m) => m.id === rule.userId);
        return found ? [active(found)].filter((u): u is GitLabUser => u !== null) : [];
      }
      if (rule.groupId !== null) {
        const inherited = rule.groupInheritanceType === 1;
        const members = await load(`g:${rule.groupId}:${inherited}`, `GET members of group ${rule.groupId}`, () =>
          groups.all(rule.groupId!, { includeInherited: inherited, perPage: 100, maxPages: 20 } as never),
        );
        return members.map(active).filter((u): u is GitLabUser => u !== null);
      }
      if (rule.accessLevel !== null) {
        const level = rule.accessLevel;
        const members = await load(`p:${projectId}`, `GET members of project ${projectId}`, () =>
          projects.all(projectId, { includeInherited: true, perPage: 100, maxPages: 20 } as never),
        );
        return members
          .filter((m) => m.access_level >= level)
          .map(active)
          .filter((u): u is GitLabUser => u !== null);
      }
      return [];
    },
  };
}
