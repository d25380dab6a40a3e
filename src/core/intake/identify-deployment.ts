import type { GitLabReader, Logger } from '../ports.ts';

/**
 * GitLab versions before `deployment_id` was added to the Deployment Hook name the deployment only by its job
 * (`deployable_id`, null for API-created deployments), its environment and its commit. The deployment is the newest
 * one of that environment with that job (or, without a job, that commit). Not found (an unknown environment, a
 * job GitLab already pruned): null, and the caller scans the environment for blocked deployments instead.
 */
export async function identifyDeployment(
  gitlab: Pick<GitLabReader, 'findDeployment'>,
  event: {
    projectId: number;
    environment: string;
    lookup?: { deployableId: number | null; shortSha: string | null };
  },
  log: Logger,
): Promise<number | null> {
  const hint = {
    environment: event.environment,
    deployableId: event.lookup?.deployableId ?? null,
    shortSha: event.lookup?.shortSha ?? null,
  };
  if (hint.environment === '' || (hint.deployableId === null && !hint.shortSha)) return null;
  const id = await gitlab.findDeployment(event.projectId, hint);
  log.info(
    { projectId: event.projectId, environment: hint.environment, deployableId: hint.deployableId, deploymentId: id },
    id === null
      ? 'deployment hook without deployment_id: no deployment found, scanning its environment'
      : 'deployment hook without deployment_id: deployment found by its job',
  );
  return id;
}
