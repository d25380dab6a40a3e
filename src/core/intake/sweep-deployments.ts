import { isGreenlightError, type GreenlightError } from '../errors.ts';
import type { Policy } from '../policy.ts';
import type { DeploymentRef, JobPlacement, Logger, WorkQueue } from '../ports.ts';
import { mapBounded, mapLimit } from '../../lib/map-limit.ts';

const ENQUEUE_CONCURRENCY = 32;
const FORCED_LISTING_MIN_AGE_MS = 60_000;
/** The part of the interval over which a sweep's jobs are spread (the rest is slack before the next sweep). */
const SPREAD = 0.8;
/** Protected-environment reads a sweep may ask for per minute of its interval, however many projects are due. */
const CLASSIFICATIONS_PER_MINUTE = 300;

/**
 * How many projects one sweep classifies: twice the steady share (every project once per `classify_every`), and
 * at least CLASSIFICATIONS_PER_MINUTE per minute of the interval (a first start: 10,000 projects at the default
 * 5 minutes take 9 sweeps).
 */
export function classificationQuota(
  projects: number,
  policy: Pick<Policy, 'sweepEveryMs' | 'sweepClassifyEveryMs'>,
): number {
  const steady = Math.ceil((2 * projects * policy.sweepEveryMs) / policy.sweepClassifyEveryMs);
  return Math.max(steady, Math.floor((CLASSIFICATIONS_PER_MINUTE * policy.sweepEveryMs) / 60_000), 1);
}

/** A project as a listing gives it. */
export type ListedProject = { id: number; path: string; name: string; webUrl: string };

/** What the sweep reads from GitLab. */
export interface SweepGitLab {
  /** Every project of a group and its subgroups, page by page (all pages). */
  groupProjects(group: string | number): AsyncIterable<ListedProject[]>;
  /** One project by path or id; null when GitLab answers 404. */
  project(project: string | number): Promise<ListedProject | null>;
}

/** What the sweep keeps in Redis (see src/adapters/redis/project-directory.ts). */
export interface SweepState {
  /** Project ids seen in webhooks. */
  knownProjects(): Promise<number[]>;
  /** Cards not yet resolved. */
  openCards(): Promise<DeploymentRef[]>;
  saveInfo(projects: readonly ListedProject[]): Promise<void>;
  resolvedId(project: string): Promise<number | null>;
  saveResolvedId(project: string, id: number): Promise<void>;
  /** when the last full listing finished, while it is fresh (`sweep.list_every`); null otherwise */
  listedAt(): Promise<number | null>;
  startListing(): Promise<void>;
  addListed(ids: readonly number[]): Promise<void>;
  finishListing(opts: { complete: boolean; freshForMs: number; at: number }): Promise<void>;
  listedProjects(): Promise<number[]>;
  canBlock(): Promise<number[]>;
  /** never-classified projects first, then those classified before `before`, oldest first */
  classificationDue(projectIds: readonly number[], before: number): Promise<number[]>;
}

export type SweepQueue = WorkQueue & {
  requestScan(
    job: {
      projectId: number;
      environments: string[];
      reason: string;
      classify?: boolean;
      unlessClassifiedWithinMs?: number;
      skipOpenCards?: boolean;
    },
    placement?: JobPlacement,
  ): Promise<void>;
};

export type SweepDeps = {
  gitlab: SweepGitLab;
  state: SweepState;
  queue: SweepQueue;
  policy: Pick<Policy, 'projects' | 'groups' | 'sweepEveryMs' | 'sweepListEveryMs' | 'sweepClassifyEveryMs'>;
  logger: Logger;
  now(): number;
  /** Longest wait between two of the sweep's jobs (they are spread over 80 % of the interval, at most this apart). */
  maxGapMs?: number;
  /** GitLab calls in flight at once while listing groups and resolving projects. */
  concurrency?: number;
  /**
   * GitLab requests a minute the sweep's work may use (GITLAB_SWEEP_RATE_LIMIT, else GITLAB_RATE_LIMIT); absent or
   * 0: unbounded. A sweep whose jobs alone (each asks GitLab at least once) need more than this allows within its
   * spread says so: its projects are then scanned less often than every interval.
   */
  budgetPerMinute?: number;
};

export type SweepReport = {
  /** projects of the last full listing plus projects seen in webhooks */
  projects: number;
  /** whether this sweep listed the groups again */
  listed: boolean;
  /** projects whose protected environments are read (again) by this sweep */
  classified: number;
  /** projects due for classification left to the next sweeps (over the quota) */
  classificationPending: number;
  /** projects scanned for blocked deployments: those that can block, and those with open cards */
  scanned: number;
  openCards: number;
  /** Projects or groups from the policy file that GitLab does not show us. */
  missing: Array<string | number>;
  failed: number;
  /** the sweep's jobs fit its GitLab budget within the spread of one interval (false: a warning was logged) */
  fitsBudget: boolean;
};

/**
 * GitLab never re-sends a webhook, and before 19.3 sends none for a deployment that starts waiting. The sweep is
 * what makes greenlight right anyway, at a cost that does not grow with every project of a large GitLab:
 *
 * - a *full listing* of the policy's groups and projects runs rarely (`sweep.list_every`, at start, and whenever
 *   its record is gone, as after Redis lost its data); the listing carries each project's path and URL, so no
 *   project is read one by one;
 * - each project's protected environments (its own and its groups') are read on a slow cycle
 *   (`sweep.classify_every`): only a project whose environments require approvals can have a deployment waiting;
 * - every sweep scans those projects and the projects of open cards for blocked deployments, and reads every
 *   open card once (a scan leaves deployments with open cards to that read).
 *
 * Everything it asks for is a background job (webhook work goes first), spread over 80 % of the interval.
 * Failures of single groups or projects do not stop the others; a retryable one is rethrown at the end so that
 * the sweep as a whole is tried again (everything it enqueues is idempotent).
 */
export async function sweepDeployments(
  deps: SweepDeps,
  input: {
    reason: string;
    fullListing?: boolean;
    /**
     * Redis lost greenlight's data (or this is a first start, which cannot be told from one): which projects can
     * block is not known, so every project due is classified by this sweep, without the quota. A project that
     * could block is otherwise not scanned until its turn comes, sweeps later, and a deployment that started
     * waiting while the data was lost (its hooks missed) would get its card only then, not within this interval.
     */
    classifyAll?: boolean;
  },
): Promise<SweepReport> {
  const { state, logger, policy } = deps;
  const failures: unknown[] = [];
  const missing: Array<string | number> = [];

  // A listing forced (at start, after an outage) is still skipped when one has just finished (the scheduler's first
  // sweep and the start's run back to back).
  const listedAt = await state.listedAt();
  const listed = listedAt === null || (input.fullListing === true && deps.now() - listedAt > FORCED_LISTING_MIN_AGE_MS);
  if (listed) {
    const outcome = await listEverything(deps);
    failures.push(...outcome.failures);
    missing.push(...outcome.missing);
  }

  const projects = new Set([...(await state.listedProjects()), ...(await state.knownProjects())]);
  const all = [...projects];
  // Never-classified projects first, then the oldest; no more per sweep than the quota, so that a whole GitLab's
  // protected environments (a day on) are read over several sweeps instead of in one burst; after a loss, all.
  const allDue = await state.classificationDue(all, deps.now() - policy.sweepClassifyEveryMs);
  const quota = classificationQuota(all.length, policy);
  const due = input.classifyAll ? allDue : allDue.slice(0, quota);
  const dueSet = new Set(due);
  const open = await state.openCards();
  const toScan = new Set(await state.canBlock());
  for (const ref of open) toScan.add(ref.projectId);
  for (const id of due) toScan.delete(id);

  const total = due.length + toScan.size + open.length;
  const gap = Math.min(Math.floor((policy.sweepEveryMs * SPREAD) / Math.max(total, 1)), deps.maxGapMs ?? 1_000);
  const reason = `sweep: ${input.reason}`;
  const jobs: Array<(placement: JobPlacement) => Promise<void>> = [
    ...[...dueSet].map(
      (projectId) => (placement: JobPlacement) =>
        deps.queue.requestScan(
          {
            projectId,
            environments: [],
            reason,
            classify: true,
            // a classification made meanwhile (the sweep before this one) is not made again
            unlessClassifiedWithinMs: policy.sweepClassifyEveryMs,
            skipOpenCards: true,
          },
          placement,
        ),
    ),
    ...[...toScan].map(
      (projectId) => (placement: JobPlacement) =>
        deps.queue.requestScan({ projectId, environments: [], reason, skipOpenCards: true }, placement),
    ),
    ...open.map((ref) => (placement: JobPlacement) => deps.queue.requestSync(ref, reason, placement)),
  ];
  // queued a few dozen at a time (tens of thousands one by one would take a minute of round trips)
  await mapLimit(jobs, ENQUEUE_CONCURRENCY, (enqueue, i) => enqueue({ background: true, delayMs: gap * i }));
  const slot = jobs.length;

  if (missing.length > 0)
    logger.warn({ missing }, 'sweep: projects or groups of the policy file are not visible to GITLAB_TOKEN');
  // Judged on what every sweep asks for: the classifications over the quota that a first start or a data loss adds
  // are a one-off (README: 10,000 projects take about 17 minutes), not a budget too small.
  const recurring = jobs.length - Math.max(0, due.length - quota);
  const budget = deps.budgetPerMinute ?? 0;
  const allowed = Math.floor((budget * policy.sweepEveryMs * SPREAD) / 60_000);
  const fitsBudget = budget <= 0 || recurring <= allowed;
  if (!fitsBudget)
    logger.warn(
      { jobs: recurring, allowed, budgetPerMinute: budget, everyMs: policy.sweepEveryMs },
      "sweep: its work does not fit the sweep's GitLab budget within one interval (projects are scanned less " +
        'often than every interval): raise GITLAB_SWEEP_RATE_LIMIT or sweep.every',
    );
  const report: SweepReport = {
    projects: projects.size,
    listed,
    classified: due.length,
    classificationPending: allDue.length - due.length,
    scanned: toScan.size,
    openCards: open.length,
    missing,
    failed: failures.length,
    fitsBudget,
  };
  logger.info({ ...report, reason: input.reason, spreadMs: gap * slot }, 'sweep done');

  // A rate limit first (the job waits it out), then anything else worth another try.
  const retry = failures.find((e) => isGreenlightError(e, 'gitlab_rate_limited')) ?? failures.find(worthAnotherTry);
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

function worthAnotherTry(error: unknown): boolean {
  return !isGreenlightError(error) || error.retryable;
}

/**
 * Lists every project of the policy's groups (every page) and resolves its `projects:` (once: ids are kept),
 * writing ids and project info to Redis page by page. Only a listing that saw everything drops projects.
 */
async function listEverything(deps: SweepDeps): Promise<{ failures: unknown[]; missing: Array<string | number> }> {
  const { state, gitlab, policy } = deps;
  const concurrency = deps.concurrency ?? 4;
  const failures: unknown[] = [];
  const missing: Array<string | number> = [];
  await state.startListing();

  const groups = await mapBounded(policy.groups, concurrency, async (group) => {
    let count = 0;
    for await (const page of gitlab.groupProjects(group)) {
      await state.saveInfo(page);
      await state.addListed(page.map((p) => p.id));
      count += page.length;
    }
    return count;
  });
  groups.forEach((result, i) => {
    const group = policy.groups[i]!;
    if (result.ok) deps.logger.info({ group, projects: result.value }, 'sweep: group listed');
    else if (isGreenlightError(result.error, 'gitlab_not_found')) missing.push(group);
    else failures.push(result.error);
  });

  const listed = await mapBounded(policy.projects, concurrency, async (project) => {
    const key = String(project);
    // ids too: a policy id GitLab does not show is reported like a path
    const known = await state.resolvedId(key);
    if (known !== null) return known;
    const found = await gitlab.project(project);
    if (found === null) return null;
    await state.saveInfo([found]);
    await state.saveResolvedId(key, found.id);
    return found.id;
  });
  const ids: number[] = [];
  listed.forEach((result, i) => {
    if (!result.ok) failures.push(result.error);
    else if (result.value === null) missing.push(policy.projects[i]!);
    else ids.push(result.value);
  });
  await state.addListed(ids);
  // A listing cut short by something another try can fix (a rate limit, GitLab down) is not fresh: the sweep's
  // retry, or the next sweep, lists again instead of leaving the rest of the projects unswept for list_every.
  await state.finishListing({
    complete: failures.length === 0,
    freshForMs: failures.some(worthAnotherTry) ? 0 : policy.sweepListEveryMs,
    at: deps.now(),
  });
  return { failures, missing };
}
