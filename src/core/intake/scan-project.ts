import type { GitLabReader, JobPlacement, Logger, WorkQueue } from '../ports.ts';

/**
 * GitLab before 19.3 sends nothing when a deployment becomes blocked: a pipeline waiting on a manual
 * job (or any job or deployment event) is the signal to list the project's blocked deployments and
 * look at each one. Which of them wait for approval is decided by the sync, from the single-deployment API.
 * The sweep's scans (`skipOpenCards`) leave deployments that have an open card alone: the same sweep reads
 * every open card already, once.
 */
export async function scanProject(
  deps: {
    gitlab: Pick<GitLabReader, 'listBlockedDeployments'>;
    queue: WorkQueue;
    logger: Logger;
    hasOpenCard?(deploymentId: number): Promise<boolean>;
  },
  input: {
    projectId: number | string;
    environments?: readonly string[];
    reason: string;
    skipOpenCards?: boolean;
    placement?: JobPlacement;
  },
): Promise<number> {
  const environments =
    input.environments && input.environments.length > 0 ? [...new Set(input.environments)] : [undefined];
  let found = 0;
  for (const environment of environments) {
    const blocked = await deps.gitlab.listBlockedDeployments(
      input.projectId,
      environment === undefined ? {} : { environment },
    );
    for (const d of blocked) {
      found += 1;
      if (input.skipOpenCards && deps.hasOpenCard && (await deps.hasOpenCard(d.id))) continue;
      await deps.queue.requestSync({ projectId: d.projectId, deploymentId: d.id }, input.reason, input.placement);
    }
  }
  deps.logger.debug({ projectId: input.projectId, found }, 'project scanned for blocked deployments');
  return found;
}
