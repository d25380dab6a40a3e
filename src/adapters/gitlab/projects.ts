import { GroupProtectedEnvironments, Groups, ProjectProtectedEnvironments, Projects } from '@gitbeaker/rest';
import { z } from 'zod';
import { isGreenlightError } from '../../core/errors.ts';
import { gitbeakerOptions, readParsed, type GitLabConnection } from './reader.ts';
import { ProjectSchema } from './schema.ts';

/** A project as listings and reads give it: all the sweep and the cards need. */
export type ListedProject = { id: number; path: string; name: string; webUrl: string };

const ProtectedEnvironment = z.object({
  name: z.string(),
  required_approval_count: z.number().nullish(),
  approval_rules: z.array(z.object({ required_approvals: z.number().nullish() })).nullish(),
});

/** An entry requires approvals when one of its rules (or the older unified count) asks for at least one. */
function requiresApproval(entries: ReadonlyArray<z.infer<typeof ProtectedEnvironment>>): boolean {
  return entries.some(
    (e) =>
      (e.required_approval_count ?? 0) > 0 || (e.approval_rules ?? []).some((r) => (r.required_approvals ?? 0) > 0),
  );
}

const toListed = (p: z.infer<typeof ProjectSchema>): ListedProject => ({
  id: p.id,
  path: p.path_with_namespace,
  name: p.name,
  webUrl: p.web_url,
});

/**
 * GitLab's side of the sweep: the projects of a group page by page, single projects, and whether protected
 * environments of a project or a group require approvals (only such projects can have deployments waiting).
 */
export function createProjectDirectory(conn: GitLabConnection, settings: { perPage?: number } = {}) {
  const opts = gitbeakerOptions(conn, { token: conn.token });
  const groups = new Groups(opts);
  const projects = new Projects(opts);
  const projectEnvironments = new ProjectProtectedEnvironments(opts);
  const groupEnvironments = new GroupProtectedEnvironments(opts);
  return {
    /**
     * Every project of a group and its subgroups, archived ones left out, one page at a time. GitLab offers no
     * keyset pagination for a group's projects (doc/api/rest: keyset-supported resources), and its offset
     * pagination has no offset limit there; past 10,000 projects it only stops sending x-total and rel="last".
     * So the pages are followed by x-next-page until there is none, however many, in id order so that a project
     * created meanwhile lands at the end instead of shifting the pages.
     */
    async *groupProjects(group: string | number): AsyncGenerator<ListedProject[]> {
      let page: number | null = 1;
      while (page !== null) {
        const current: number = page;
        const answer = await readParsed(
          `GET projects of group ${group} (page ${current})`,
          () =>
            groups.allProjects(group, {
              includeSubgroups: true,
              archived: false,
              simple: true,
              orderBy: 'id',
              sort: 'asc',
              perPage: settings.perPage ?? 100,
              page: current,
              showExpanded: true,
            } as never),
          z.object({
            data: z.array(ProjectSchema),
            paginationInfo: z.object({ next: z.number().nullable() }),
          }),
        );
        yield answer.data.map(toListed);
        page = answer.paginationInfo.next !== null && answer.data.length > 0 ? answer.paginationInfo.next : null;
      }
    },
    /** One project by id or path; null when GitLab answers 404 (deleted, or not visible to the token). */
    async project(project: string | number): Promise<ListedProject | null> {
      try {
        return toListed(await readParsed(`GET project ${project}`, () => projects.show(project), ProjectSchema));
      } catch (error) {
        if (isGreenlightError(error, 'gitlab_not_found')) return null;
        throw error;
      }
    },
    /**
     * Whether the project's own protected environments require approvals. 'unknown' when the token may not
     * read them (the list needs the Maintainer role): such a project is swept as if they did.
     */
    async projectRequiresApproval(projectId: number): Promise<boolean | 'unknown' | 'gone'> {
      try {
        const entries = await readParsed(
          `GET protected environments of project ${projectId}`,
          () => projectEnvironments.all(projectId, { perPage: 100, maxPages: 20 } as never),
          z.array(ProtectedEnvironment),
        );
        return requiresApproval(entries);
      } catch (error) {
        if (isGreenlightError(error, 'gitlab_not_found')) return 'gone';
        if (isGreenlightError(error, 'gitlab_forbidden')) return 'unknown';
        throw error;
      }
    },
    /**
     * Whether the group's group-level protected environments (by tier, for every project below it) require
     * approvals. None where GitLab has none to show (404: a user namespace, a GitLab without them); 'unknown'
     * where the token may not read them (403: they need the Maintainer or Owner role on the group), and then
     * every project below counts as one that can block.
     */
    async groupRequiresApproval(groupPath: string): Promise<boolean | 'unknown'> {
      try {
        const entries = await readParsed(
          `GET protected environments of group ${groupPath}`,
          // gitbeaker does not encode the id of this resource: a subgroup's path must stay one segment
          () => groupEnvironments.all(encodeURIComponent(groupPath), { perPage: 100, maxPages: 20 } as never),
          z.array(ProtectedEnvironment),
        );
        return requiresApproval(entries);
      } catch (error) {
        if (isGreenlightError(error, 'gitlab_not_found')) return false;
        if (isGreenlightError(error, 'gitlab_forbidden')) return 'unknown';
        throw error;
      }
    },
  };
}
export type ProjectDirectory = ReturnType<typeof createProjectDirectory>;
