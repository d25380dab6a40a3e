import { Groups } from '@gitbeaker/rest';
import { z } from 'zod';
import { GreenlightError, isGreenlightError } from '../../core/errors.ts';
import { mapGitLabError } from './client.ts';
import { gitbeakerOptions, type GitLabConnection, type GitLabReaderAdapter } from './reader.ts';

const GroupProject = z.object({ id: z.number().int().positive(), path_with_namespace: z.string() });

/** Projects as the sweep needs them: ids of policy projects and of every project below a group. */
export function createProjectDirectory(
  conn: GitLabConnection,
  reader: Pick<GitLabReaderAdapter, 'getProject'>,
  opts: { perPage?: number; maxPages?: number } = {},
) {
  const groups = new Groups(gitbeakerOptions(conn, { token: conn.token }));
  return {
    async projectId(project: string | number): Promise<number | null> {
      try {
        return (await reader.getProject(project)).id;
      } catch (error) {
        if (isGreenlightError(error, 'gitlab_not_found')) return null;
        throw error;
      }
    },
    /** Every page of GET /groups/:id/projects?include_subgroups=true, archived projects left out. */
    async groupProjectIds(group: string | number): Promise<number[]> {
      let raw: unknown;
      try {
        raw = await groups.allProjects(group, {
          includeSubgroups: true,
          archived: false,
          perPage: opts.perPage ?? 100,
          maxPages: opts.maxPages ?? 100,
        } as never);
      } catch (error) {
        throw mapGitLabError(error, `GET projects of group ${group}`);
      }
      const parsed = z.array(GroupProject).safeParse(raw);
      if (!parsed.success)
        throw new GreenlightError(
          'invalid_input',
          `GitLab answered GET projects of group ${group} with an unexpected shape`,
          { retryable: false },
        );
      return parsed.data.map((p) => p.id);
    },
  };
}
