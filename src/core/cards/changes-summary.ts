import { isDeepStrictEqual } from 'node:util';
import type { Deployment, DeploymentRef, GitLabUser } from '../deployments/deployment.ts';
import type { Clock, Logger, WorkQueue } from '../runtime.ts';
import { freezeInEffect, type FreezeNow, type FreezePeriod } from './deploy-freeze.ts';

/**
 * What a deployment changes, for the people asked to approve it: what runs in the environment now, the commits
 * and merge requests between that and this deployment (or that it goes back), whether the rest of its pipeline
 * passed, and whether a deploy freeze is in effect. Read with greenlight's own token, never in the way of the
 * card: see changesForCard.
 */

/** The environment's last successful deployment: what runs there now. */
export type DeployedVersion = {
  deploymentId: number;
  ref: string;
  sha: string;
  /** When it finished (or was created, for deployments without a finish time). */
  at: string;
  /** Who ran it (the job's user), else who created it. */
  by: GitLabUser | null;
  /** The deployed commit's date: merge requests merged since then can be in the range. */
  commitDate: string | null;
};

export type RangeCommit = {
  sha: string;
  title: string;
  authorName: string;
  webUrl: string | null;
  /** The merge request this commit is the merge, squash or head commit of. */
  mergeRequestIid?: number;
};

export type MergeRequestRef = {
  iid: number;
  title: string;
  webUrl: string;
  author: GitLabUser | null;
  /** merge_commit_sha, squash_commit_sha and sha (the source head): whichever is in the range brought it in. */
  shas: string[];
};

export type PipelineJob = { id: number; name: string; status: string; allowFailure: boolean };

/** GitLab, read with greenlight's own token (src/adapters/gitlab/changes-reader.ts). */
export interface ChangesSource {
  /** The last successful deployment of the deployment's environment; null before the first one. */
  currentDeployment(deployment: Deployment): Promise<DeployedVersion | null>;
  /**
   * The first page (newest first) of the commits of a revision range `a..b` (GitLab's commits API: no total
   * count), and whether there are more.
   */
  commits(projectId: number, range: string): Promise<{ commits: RangeCommit[]; more: boolean }>;
  /** Merge requests merged into `targetBranch`, updated since `updatedAfter` (one page). */
  mergedMergeRequests(
    projectId: number,
    query: { targetBranch: string; updatedAfter: string | null },
  ): Promise<MergeRequestRef[]>;
  /**
   * The pipeline's jobs as they are at `pipelineUpdatedAt` (the pipeline's updated_at from the deployment read): a
   * newer one is never answered from an older read.
   */
  pipelineJobs(projectId: number, pipelineId: number, pipelineUpdatedAt: string | null): Promise<PipelineJob[]>;
  freezePeriods(projectId: number): Promise<FreezePeriod[]>;
}

export type RangeKey = { projectId: number; from: string; to: string };

/**
 * The commits between two shas and the merge requests they came in through. `forward`: deployed..new;
 * `rollback`: the new sha is behind, `commits` are the ones it takes back (new..deployed); `same`: nothing
 * changes; `unknown`: GitLab could not relate the two (a sha no longer in the repository).
 */
export type RangeChanges = {
  kind: 'forward' | 'rollback' | 'same' | 'unknown';
  count: number;
  /** More commits than `count` (the first page was full). */
  more: boolean;
  commits: RangeCommit[];
  mergeRequests: MergeRequestRef[];
};

/** Ranges already read, shared by every process (Redis): re-renders, follow-up syncs and the modal read them. */
export interface RangeStore {
  get(key: RangeKey): Promise<RangeChanges | null>;
  /** `partial`: read without its merge requests (GitLab did not give them): kept minutes, not a day. */
  put(key: RangeKey, value: RangeChanges, opts?: { partial: boolean }): Promise<void>;
}

export type PipelineHealth = {
  state: 'passed' | 'failed' | 'canceled' | 'running' | 'none';
  /** Names of failed jobs that were not allowed to fail. */
  failed: string[];
  canceled: number;
  running: number;
  passed: number;
  /** Failed jobs that were allowed to fail. */
  warnings: number;
  url: string | null;
  /**
   * The pipeline's updated_at when its jobs were read. GitLab moves it with every status change of the pipeline
   * (a job retried, canceled, or the last one finishing), so a re-sync that finds it unchanged keeps this health.
   */
  pipelineUpdatedAt?: string | null;
};

/** What a card, a list row and the modal show. `range` is null for the first deployment to an environment. */
export type ChangeSummary = {
  current: (DeployedVersion & { shortSha: string }) | null;
  range:
    | (Omit<RangeChanges, 'commits' | 'mergeRequests'> & {
        from: string;
        to: string;
        compareUrl: string;
        /** The newest merge requests (at most CARD_MERGE_REQUESTS); `mergeRequestCount` counts all found. */
        mergeRequests: MergeRequestRef[];
        mergeRequestCount: number;
      })
    | null;
  pipeline: PipelineHealth | null;
  freeze: FreezeNow | null;
};

/** On a card, or a card's record: a summary, or one still being read (a follow-up sync brings it). */
export type ChangesView = ({ status: 'ready' } & ChangeSummary) | { status: 'pending' };

/** Commits read per range: one page, the most GitLab gives. */
export const RANGE_PAGE = 100;
/** Commits and merge requests kept per range (the modal lists them). */
export const KEPT_PER_RANGE = 50;
/** Merge requests named on the card ("and N more" beyond). */
export const CARD_MERGE_REQUESTS = 5;
/** How long a card waits for its summary before it goes out without it. */
export const CHANGES_WAIT_MS = 1_000;

export type ChangesDeps = {
  source: ChangesSource;
  ranges: RangeStore;
  clock: Clock;
  logger: Logger;
};

const SHA = /^[0-9a-f]{7,64}$/;

/**
 * The commits and merge requests between two shas, from the store or read once (two requests in parallel:
 * the range and the merge requests merged since the older commit; a rollback reads the range backwards too).
 */
export async function rangeChanges(
  deps: ChangesDeps,
  input: RangeKey & { targetBranch: string; updatedAfter: string | null },
): Promise<RangeChanges> {
  const key: RangeKey = { projectId: input.projectId, from: input.from, to: input.to };
  if (!SHA.test(key.from) || !SHA.test(key.to)) return nothing('unknown');
  if (key.from === key.to) return nothing('same');
  const stored = await deps.ranges.get(key).catch(() => null);
  if (stored) return stored;
  const [forward, merged] = await Promise.all([
    deps.source.commits(key.projectId, `${key.from}..${key.to}`),
    deps.source
      .mergedMergeRequests(key.projectId, { targetBranch: input.targetBranch, updatedAfter: input.updatedAfter })
      .catch((error: unknown) => {
        deps.logger.warn(
          { projectId: key.projectId, err: (error as Error).message },
          'changes: merge requests not read',
        );
        return null;
      }),
  ]);
  let changes: RangeChanges;
  if (forward.commits.length > 0) {
    changes = { kind: 'forward', ...withMergeRequests(forward, merged ?? []) };
  } else {
    const back = await deps.source.commits(key.projectId, `${key.to}..${key.from}`);
    changes = back.commits.length > 0 ? { kind: 'rollback', ...withMergeRequests(back, []) } : nothing('unknown');
  }
  // Without its merge requests the range is kept briefly (a follow-up sync finds it), then read again.
  await deps.ranges
    .put(key, changes, { partial: merged === null && changes.kind === 'forward' })
    .catch((error: unknown) =>
      deps.logger.warn({ err: (error as Error).message, projectId: key.projectId }, 'changes not stored'),
    );
  return changes;
}

const nothing = (kind: 'same' | 'unknown'): RangeChanges => ({
  kind,
  count: 0,
  more: false,
  commits: [],
  mergeRequests: [],
});

/** Matches merge requests to the commits they brought in (merge, squash or head commit), newest first. */
function withMergeRequests(
  page: { commits: RangeCommit[]; more: boolean },
  merged: MergeRequestRef[],
): Omit<RangeChanges, 'kind'> {
  const position = new Map(page.commits.map((c, i) => [c.sha, i]));
  const matched = merged
    .map((mr) => ({ mr, at: Math.min(...mr.shas.map((sha) => position.get(sha) ?? Infinity)) }))
    .filter((m) => m.at !== Infinity)
    .sort((a, b) => a.at - b.at)
    .map((m) => m.mr);
  const bySha = new Map<string, number>();
  for (const mr of matched) for (const sha of mr.shas) if (!bySha.has(sha)) bySha.set(sha, mr.iid);
  return {
    count: page.commits.length,
    more: page.more,
    commits: page.commits.slice(0, KEPT_PER_RANGE).map((c) => {
      const iid = bySha.get(c.sha);
      return iid === undefined ? c : { ...c, mergeRequestIid: iid };
    }),
    mergeRequests: matched.slice(0, KEPT_PER_RANGE),
  };
}

const RUNNING = new Set([
  'pending',
  'running',
  'preparing',
  'waiting_for_resource',
  'scheduled',
  'waiting_for_callback',
]);

/**
 * The rest of the deployment's pipeline: every job but the deployment job itself and other manual jobs (gates,
 * like this one). Jobs still `created` wait for a stage after this one, so they do not count as running.
 */
export function pipelineHealth(
  jobs: readonly PipelineJob[],
  deployJobId: number | null,
  url: string | null,
): PipelineHealth {
  const others = jobs
    .filter((j) => j.id !== deployJobId && j.status !== 'manual' && j.status !== 'skipped')
    .sort((a, b) => a.id - b.id);
  const failed = others.filter((j) => j.status === 'failed' && !j.allowFailure).map((j) => j.name);
  const warnings = others.filter((j) => j.allowFailure && (j.status === 'failed' || j.status === 'canceled')).length;
  const canceled = others.filter((j) => j.status === 'canceled' && !j.allowFailure).length;
  const running = others.filter((j) => RUNNING.has(j.status)).length;
  const passed = others.filter((j) => j.status === 'success').length;
  const state =
    failed.length > 0
      ? 'failed'
      : canceled > 0
        ? 'canceled'
        : running > 0
          ? 'running'
          : passed + warnings > 0
            ? 'passed'
            : 'none';
  return { state, failed, canceled, running, passed, warnings, url };
}

/**
 * The summary for one deployment: what runs now, the freeze periods and the pipeline's jobs are read at once,
 * and the range as soon as what runs now is known. A part GitLab does not answer is left out (logged), the
 * others still show; without what runs now there is no summary.
 *
 * `shown`: the summary the card already shows, brought up to date reading only what can have changed while the
 * deployment waits (the pipeline's health, pipelineHealthOf; the freeze from the periods, which the reader keeps).
 */
export async function describeChanges(
  deps: ChangesDeps,
  d: Deployment,
  shown?: ChangeSummary | null,
): Promise<ChangeSummary> {
  const log = (what: string) => (error: unknown) => {
    deps.logger.warn({ deploymentId: d.id, err: (error as Error).message }, `changes: ${what} not read`);
    return null;
  };
  const projectId = d.project.id;
  // The pipeline's health and the freeze periods do not wait for the range, nor the range for them.
  const healthRead = pipelineHealthOf(deps, d, shown).catch(log('pipeline jobs'));
  const periodsRead = deps.source.freezePeriods(projectId).catch(log('freeze periods'));
  // What runs there now does not change while this deployment waits: a newer deployment to the environment
  // supersedes this one (its card says so), so the card keeps what it read first.
  const current = shown
    ? shown.current
    : await deps.source.currentDeployment(d).catch(async (error: unknown) => {
        await Promise.all([healthRead, periodsRead]);
        throw error;
      });
  let range: ChangeSummary['range'] = null;
  if (shown?.range && shown.range.kind !== 'unknown') {
    // Neither do the commits between the two shas; only a range GitLab could not relate is looked for again
    // (kept in the range store when that was GitLab's answer: no request then).
    range = shown.range;
  } else if (current) {
    const changes = await rangeChanges(deps, {
      projectId,
      from: current.sha,
      to: d.sha,
      targetBranch: d.ref,
      updatedAfter: current.commitDate ?? current.at,
    }).catch((error: unknown) => {
      log('commits')(error);
      return nothing('unknown');
    });
    const [from, to] = changes.kind === 'rollback' ? [d.sha, current.sha] : [current.sha, d.sha];
    range = {
      kind: changes.kind,
      count: changes.count,
      more: changes.more,
      from: current.sha,
      to: d.sha,
      compareUrl: `${d.project.webUrl}/-/compare/${from}...${to}`,
      mergeRequests: changes.mergeRequests.slice(0, CARD_MERGE_REQUESTS),
      mergeRequestCount: changes.mergeRequests.length,
    };
  }
  const [pipeline, periods] = await Promise.all([healthRead, periodsRead]);
  // The freeze is worked out from the periods at every render: one starting or ending while the card waits shows
  // on the next sync, with the periods from the reader's cache.
  const { freeze, invalid } = freezeInEffect(periods ?? [], deps.clock.now());
  if (invalid.length > 0) deps.logger.warn({ projectId, periods: invalid.length }, 'unreadable deploy freeze periods');
  return {
    current: current ? { ...current, shortSha: current.sha.slice(0, 8) } : null,
    range,
    pipeline,
    freeze,
  };
}

/**
 * The health of the rest of the deployment's pipeline. The health a card shows is kept unless it can have
 * changed: jobs were still running (read again at most once per the reader's running interval), or the pipeline
 * changed since it was read (a job retried or canceled: its updated_at moved), or it was never read.
 */
async function pipelineHealthOf(
  deps: ChangesDeps,
  d: Deployment,
  shown: ChangeSummary | null | undefined,
): Promise<PipelineHealth | null> {
  const pipeline = d.pipeline;
  if (!pipeline) return null;
  const updatedAt = pipeline.updatedAt ?? null;
  const kept = shown?.pipeline;
  if (kept && kept.running === 0 && (kept.pipelineUpdatedAt ?? null) === updatedAt) return kept;
  const jobs = await deps.source.pipelineJobs(d.project.id, pipeline.id, updatedAt);
  return { ...pipelineHealth(jobs, d.job?.id ?? null, pipeline.webUrl), pipelineUpdatedAt: updatedAt };
}

export type CardChangesDeps = ChangesDeps & {
  /** Resolves after `ms` (a timer). */
  delay(ms: number): Promise<void>;
  /** Where the follow-up sync goes when the summary arrives after the card. */
  queue: WorkQueue;
  waitMs?: number;
};

/**
 * The summary for a card render, never holding the card back more than `waitMs`: when GitLab is slower, the
 * card goes out saying the changes are being read (or, on a re-sync, with the summary it already shows), and
 * once they are (stored for every process), a follow-up sync of the deployment renders them. A summary GitLab
 * refuses is left off the card (null), and logged.
 *
 * `shown`: what the card shows now. A ready summary is brought up to date without reading what cannot have
 * changed (describeChanges): the sweep re-syncs every open card every interval, mostly at no GitLab cost.
 */
export async function changesForCard(
  deps: CardChangesDeps,
  d: Deployment,
  shown?: ChangesView | null,
): Promise<ChangesView | null> {
  const kept = shown?.status === 'ready' ? shown : null;
  const summary = describeChanges(deps, d, kept).then(
    (value): ChangesView => ({ status: 'ready', ...value }),
    (error: unknown) => {
      deps.logger.warn({ deploymentId: d.id, err: (error as Error).message }, 'changes summary not read');
      return null;
    },
  );
  const first = await Promise.race([summary, deps.delay(deps.waitMs ?? CHANGES_WAIT_MS).then(() => 'late' as const)]);
  if (first !== 'late') return first;
  const ref: DeploymentRef = { projectId: d.project.id, deploymentId: d.id };
  void summary.then(async (view) => {
    if (!view) return;
    // A re-sync's summary that came late but says what the card shows needs no second render (after a restart every
    // open card's freeze periods are read again, each waiting its turn in the sweep's share of the GitLab budget).
    if (kept && sameSummary(view, kept)) {
      deps.logger.debug({ deploymentId: d.id }, 'late changes summary unchanged: no follow-up sync');
      return;
    }
    await deps.queue
      .requestSync(ref, 'changes summary ready')
      .catch((error: unknown) =>
        deps.logger.warn({ deploymentId: d.id, err: (error as Error).message }, 'follow-up sync not requested'),
      );
  });
  deps.logger.info(
    { deploymentId: d.id, waitMs: deps.waitMs ?? CHANGES_WAIT_MS },
    kept ? 'card keeps its changes summary until GitLab answers' : 'card goes out before its changes summary',
  );
  return kept ?? { status: 'pending' };
}

/** The same summary, as stored (a card's record holds it as JSON: no undefined fields, any key order). */
function sameSummary(a: ChangesView, b: ChangesView): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

/** What a card keeps of its summary once it no longer waits: what changed, not a freeze that no longer matters. */
export function settledChanges(view: ChangesView | null | undefined): ChangesView | null {
  if (!view || view.status !== 'ready') return null;
  return { ...view, freeze: null };
}
