import { ProjectMembers, Projects, Users } from '@gitbeaker/rest';
import { z } from 'zod';
import { isGreenlightError } from '../../core/errors.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import { mapGitLabError } from './client.ts';
import { gitbeakerOptions, type GitLabConnection } from './reader.ts';

const ProjectSchema = z.object({ visibility: z.enum(['public', 'internal', 'private']).catch('private') });
type ProjectSchema = z.infer<typeof ProjectSchema>;
const MemberSchema = z.object({ state: z.string().nullish() });
/** `is_admin` and `external` are shown only to administrators (sudo mode's token); absent means "cannot tell". */
const UserSchema = z.object({
  state: z.string().nullish(),
  is_admin: z.boolean().optional(),
  external: z.boolean().optional(),
});
type UserSchema = z.infer<typeof UserSchema>;

const TTL_MS = 5 * 60_000;

/**
 * Whether a GitLab user can read a project, as GitLab defines it, asked with greenlight's own token: public
 * projects to everyone; internal ones to every user who is not external (known only to an administrator token,
 * so with a plain token internal projects count as private); private ones to their members, direct or inherited
 * (GET /projects/:id/members/all/:user_id), and to administrators. Blocked users read nothing. Cached for five
 * minutes, bounded.
 */
export function createProjectAccess(conn: GitLabConnection): {
  canReadProject(projectId: number, gitlabUserId: number): Promise<boolean>;
} {
  const options = gitbeakerOptions(conn, { token: conn.token });
  const projects = new Projects(options);
  const members = new ProjectMembers(options);
  const users = new Users(options);
  const projectCache = new TtlCache<number, ProjectSchema>({ ttlMs: TTL_MS, max: 2_000 });
  const userCache = new TtlCache<number, UserSchema | null>({ ttlMs: TTL_MS, max: 10_000 });
  const memberCache = new TtlCache<string, boolean>({ ttlMs: TTL_MS, max: 20_000 });

  const notFound = (error: unknown) => isGreenlightError(error, 'gitlab_not_found');
  const read = async <T>(what: string, fn: () => Promise<unknown>, schema: z.ZodType<T>): Promise<T | null> => {
    try {
      return schema.parse(await fn());
    } catch (error) {
      const mapped = error instanceof z.ZodError ? error : mapGitLabError(error, what);
      if (notFound(mapped)) return null;
      throw mapped;
    }
  };

  return {
    async canReadProject(projectId, gitlabUserId) {
      const user = await userCache.getOrLoad(gitlabUserId, () =>
        read(`GET user ${gitlabUserId}`, () => users.show(gitlabUserId), UserSchema),
      );
      if (!user || (user.state && user.state !== 'active')) return false;
      if (user.is_admin === true) return true;
      const project = await projectCache.getOrLoad(projectId, async () => {
        const found = await read(`GET project ${projectId}`, () => projects.show(projectId), ProjectSchema);
        return found ?? { visibility: 'private' as const };
      });
      if (project.visibility === 'public') return true;
      if (project.visibility === 'internal' && user.external === false) return true;
      return memberCache.getOrLoad(`${projectId}:${gitlabUserId}`, async () => {
        const member = await read(
          `GET member ${gitlabUserId} of project ${projectId}`,
          () => members.show(projectId, gitlabUserId, { includeInherited: true }),
          MemberSchema,
        );
        return member !== null && (!member.state || member.state === 'active');
      });
    },
  };
}
