import type { IntakeEvent } from './intake-event.ts';
import type { GitLabReader, Logger, WorkQueue } from '../ports.ts';
import { identifyDeployment } from './identify-deployment.ts';

export type HandleWebhookDeps = {
  gitlab: GitLabReader;
  queue: WorkQueue & { requestScan(job: { projectId: number; environments: string[]; reason: string }): Promise<void> };
  /**
   * Projects seen in webhooks (the sweep lists them), and whether one's deployment hooks report `blocked`
   * (GitLab 19.3+, deployment events subscribed) lately: then its other hooks need no scan to find them.
   */
  projects: {
    remember(projectId: number, opts: { reportsBlocked: boolean }): Promise<void>;
    reportsBlocked(projectId: number): Promise<boolean>;
  };
  /** The sweep's classification hears of hooks that name environments or report blocked deployments (note-hook.ts). */
  noteHook?(projectId: number, hook: { blocked: boolean }): Promise<void>;
  logger: Logger;
};

/** Lifecycle statuses exist in every GitLab; these three only from 19.3, which reports each deployment itself. */
const MODERN_ONLY = new Set(['blocked', 'approved', 'rejected']);

/**
 * What one GitLab delivery triggers: a sync of the deployment it names, and a scan of its project where GitLab
 * (before 19.3) says nothing of blocked deployments.
 */
export async function handleWebhookEvent(deps: HandleWebhookDeps, event: IntakeEvent): Promise<void> {
  const log = deps.logger;
  const reportsBlocked = event.kind === 'deployment' && MODERN_ONLY.has(event.status);
  await deps.projects.remember(event.projectId, { reportsBlocked });
  const named = event.kind === 'pipeline' ? event.environments : event.environment ? [event.environment] : [];
  if (deps.noteHook && (named.length > 0 || reportsBlocked))
    await deps.noteHook(event.projectId, { blocked: reportsBlocked && event.status === 'blocked' });
  // Where the project's deployment hooks report blocked deployments, a scan per pipeline, job and deployment hook
  // would only read again what the hook brings (the sweep still lists every project).
  const scan = async (environments: string[], reason: string) => {
    if (await deps.projects.reportsBlocked(event.projectId)) {
      log.debug(
        { projectId: event.projectId, reason },
        "scan skipped: the project's deployment hooks report blocked deployments",
      );
      return;
    }
    await deps.queue.requestScan({ projectId: event.projectId, environments, reason });
  };
  switch (event.kind) {
    case 'deployment': {
      const reason = `deployment hook: ${event.status}`;
      const deploymentId = event.deploymentId ?? (await identifyDeployment(deps.gitlab, event, log));
      if (deploymentId !== null) await deps.queue.requestSync({ projectId: event.projectId, deploymentId }, reason);
      if (!reportsBlocked || deploymentId === null)
        await scan(deploymentId === null && event.environment ? [event.environment] : [], reason);
      break;
    }
    case 'pipeline':
      if (event.status === 'manual' || event.environments.length > 0)
        await scan(event.environments, `pipeline hook: ${event.status}`);
      break;
    case 'job':
      await scan(event.environment ? [event.environment] : [], `job hook: ${event.status}`);
      break;
  }
  log.debug({ kind: event.kind, projectId: event.projectId }, 'webhook event processed');
}
