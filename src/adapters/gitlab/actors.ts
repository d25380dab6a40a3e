import { Deployments, Jobs } from '@gitbeaker/rest';
import type { GitLabUser } from '../../core/deployments/deployment.ts';
import type { GitLabActor } from '../../core/ports.ts';
import { mapGitLabError } from './client.ts';
import { gitbeakerOptions, type GitLabConnection } from './reader.ts';

type Auth = { token: string } | { oauthToken: string | (() => Promise<string>) };

/**
 * GitLab acting as one person. Either that person's own OAuth token, or greenlight's administrator
 * token with `Sudo: <user id>`; never greenlight's token alone.
 */
export function createActor(
  conn: GitLabConnection,
  user: GitLabUser,
  auth: Auth,
  opts: { sudo?: boolean; onUnauthorized?: (error: Error) => Promise<Error> } = {},
): GitLabActor {
  const options = gitbeakerOptions(conn, auth as never, opts.sudo ? user.id : undefined);
  const deployments = new Deployments(options);
  const jobs = new Jobs(options);
  async function guard(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      const mapped = mapGitLabError(error, what);
      if (mapped.code === 'gitlab_unauthorized' && opts.onUnauthorized) throw await opts.onUnauthorized(mapped);
      throw mapped;
    }
  }
  return {
    user,
    recordDecision: (ref, input) =>
      guard(`POST approval of deployment ${ref.deploymentId}`, () =>
        deployments.setApproval(ref.projectId, ref.deploymentId, input.status, {
          ...(input.comment !== undefined && { comment: input.comment }),
          ...(input.representedAs !== undefined && { representedAs: input.representedAs }),
        }),
      ),
    playJob: (projectId, jobId) => guard(`POST play of job ${jobId}`, () => jobs.play(projectId, jobId)),
  };
}
