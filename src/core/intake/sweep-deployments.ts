import { isGreenlightError, type GreenlightError } from '../errors.ts';
import type { Policy } from '../policy.ts';
import type { DeploymentRef, Logger, WorkQueue } from '../ports.ts';
import { mapBounded } from '../../lib/map-limit.ts';

/** Where the sweep learns which projects and cards to look at. */
export interface SweepSources {
  /** Project ids seen in webhooks. */
  knownProjects(): Promise<number[]>;
  /** Stop sweeping a seen project GitLab no longer shows us (deleted, or access removed). */
  forgetProject(projectId: number): Promise<void>;
  /** A project's id from its path or id; null when GitLab answers 404. */
  projectId(project: string | number): Promise<number | null>;
  /** Every project of a group and its subgroups (all pages). */
  groupProjectIds(group: string | number): Promise<number[]>;
  /** Cards not yet resolved. */
  openCards(): Promise<DeploymentRef[]>;
}

export type SweepDeps = {
  sources: SweepSources;
  queue: WorkQueue & { requestScan(job: { projectId: number; environments: string[]; reason: string }): Promise<void> };
  policy: Pick<Policy, 'projects' | 'groups'>;
  logger: Logger;
  /** GitLab calls in flight at once while listing groups and resolving projects. */
  concurrency?: number;
};

export type SweepReport = {
  projects: number;
  openCards: number;
  /** Projects or groups from the policy file that GitLab does not show us. */
  missing: Array<string | number>;
  /** Seen projects dropped because GitLab no longer shows them. */
  forgotten: number[];
  failed: number;
};

/**
 * GitLab never re-sends a webhook, and before 19.3 sends none for a deployment that starts waiting. The sweep
 * is what makes greenlight right anyway: every project of the policy file (listed, or in a listed group) and
 * every project seen in a webhook is scanned for blocked deployments, and every open card is read again, so
 * cards appear for what webhooks missed and cards of deployments decided meanwhile (in the GitLab UI too) are
 * brought up to date. The scans and syncs are ordinary deduplicated jobs: their workers bound concurrency
 * and retry on their own. Failures of single projects do not stop the others; a retryable one is rethrown
 * at the end so that the sweep as a whole is tried again (everything it enqueues is idempotent).
 */
export async function sweepDeployments(deps: SweepDeps, input: { reason: string }): Promise<SweepReport> {
  const { sources, logger } = deps;
  const concurrency = deps.concurrency ?? 4;
  const failures: unknown[] = [];
  const missing: Array<string | number> = [];
  const forgotten: number[] = [];
  const ids = new Set<number>();

  const groups = await mapBounded(deps.policy.groups, concurrency, (group) => sources.groupProjectIds(group));
  groups.forEach((result, i) => {
    const group = deps.policy.groups[i]!;
    if (result.ok) for (const id of result.value) ids.add(id);
    else if (isGreenlightError(result.error, 'gitlab_not_found')) missing.push(group);
    else failures.push(result.error);
  });

  const listed = await mapBounded(deps.policy.projects, concurrency, (project) => sources.projectId(project));
  listed.forEach((result, i) => {
    const project = deps.policy.projects[i]!;
    if (!result.ok) failures.push(result.error);
    else if (result.value === null) missing.push(project);
    else ids.add(result.value);
  });

  const known = (await sources.knownProjects()).filter((id) => !ids.has(id));
  const seen = await mapBounded(known, concurrency, (id) => sources.projectId(id));
  for (const [i, result] of seen.entries()) {
    const id = known[i]!;
    if (!result.ok) failures.push(result.error);
    else if (result.value === null) {
      await sources.forgetProject(id);
      forgotten.push(id);
    } else ids.add(result.value);
  }

  for (const projectId of ids)
    await deps.queue.requestScan({ projectId, environments: [], reason: `sweep: ${input.reason}` });
  const open = await sources.openCards();
  for (const ref of open) await deps.queue.requestSync(ref, `sweep: ${input.reason}`);

  if (missing.length > 0)
    logger.warn({ missing }, 'sweep: projects or groups of the policy file are not visible to GITLAB_TOKEN');
  if (forgotten.length > 0) logger.info({ forgotten }, 'sweep: stopped sweeping projects GitLab no longer shows');
  const report: SweepReport = {
    projects: ids.size,
    openCards: open.length,
    missing,
    forgotten,
    failed: failures.length,
  };
  logger.info({ ...report, reason: input.reason }, 'sweep done');

  // A rate limit first (the job waits it out), then anything else worth another try.
  const retry =
    failures.find((e) => isGreenlightError(e, 'gitlab_rate_limited')) ??
    failures.find((e) => !isGreenlightError(e) || e.retryable);
  if (retry) throw retry;
  if (failures.length > 0) {
    const first = failures[0] as GreenlightError;
    logger.warn(
      { code: first.code, message: first.message, failed: failures.length },
      'sweep: some projects could not be listed',
    );
  }
  return report;
}
