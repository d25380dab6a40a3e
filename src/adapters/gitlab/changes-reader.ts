import { Commits, FreezePeriods, Jobs, MergeRequests } from '@gitbeaker/rest';
import { z } from 'zod';
import type {
  ChangesSource,
  DeployedVersion,
  MergeRequestRef,
  PipelineJob,
  RangeCommit,
} from '../../core/cards/changes-summary.ts';
import type { FreezePeriod } from '../../core/cards/deploy-freeze.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import { gitbeakerOptions, readParsed, toUser, type GitLabConnection, type GitLabReaderAdapter } from './reader.ts';
import {
  CommitSchema,
  FreezePeriodSchema,
  JobSchema,
  MergeRequestSchema,
  type LastDeploymentEntity,
} from './schema.ts';

/** What runs in an environment is re-read when the environment was read longer ago than this (a card's first read). */
const CURRENT_MAX_AGE_MS = 60_000;
/**
 * Freeze periods are settings, rarely changed: kept an hour per project. Whether one is in effect is worked out
 * from them at every render (deploy-freeze.ts), so a freeze that starts or ends needs no read.
 */
const FREEZE_TTL_MS = 60 * 60_000;
/**
 * A pipeline's jobs are kept per pipeline and its updated_at (a retried job moves it, and reads afresh); a running
 * pipeline's, whose jobs finish without moving it, are read again at most once a minute.
 */
const JOBS_TTL_MS = 5 * 60_000;
const RUNNING_JOBS_TTL_MS = 60_000;
const UNFINISHED = new Set(['created', 'pending', 'running', 'preparing', 'waiting_for_resource', 'scheduled']);
/** Titles and names as kept (Redis, card records): bounded, whatever GitLab holds; Slack clips further. */
const TITLE_MAX = 300;
const NAME_MAX = 200;
const bounded = (text: string, max: number) =>
  text.length > max ? `${Array.from(text.slice(0, max)).slice(0, -1).join('')}…` : text;

/**
 * GitLab reads for the summary of what a deployment changes, with greenlight's own token. Each is one request:
 * - what runs now: the environment's `last_deployment` (the single-environment GET, which the deployment read
 *   already makes for the tier: within a minute of it, no request at all);
 * - the commits of `a..b`: the commits API's first page (it sends no total count);
 * - merged merge requests of the target branch updated since a time: one page;
 * - the pipeline's jobs: one page, kept per pipeline (a minute while it runs);
 * - freeze periods: kept per project for an hour.
 * A card re-synced while it waits reads only what may have changed (changes-summary.ts: describeChanges).
 * `caches.now`: the clock of the caches (the app's).
 */
export function createChangesReader(
  conn: GitLabConnection,
  reader: Pick<GitLabReaderAdapter, 'environment'>,
  caches: { now?: () => number } = {},
): ChangesSource {
  const opts = gitbeakerOptions(conn, { token: conn.token });
  const commits = new Commits(opts);
  const mergeRequests = new MergeRequests(opts);
  const jobs = new Jobs(opts);
  const freezePeriods = new FreezePeriods(opts);
  const now = caches.now ?? Date.now;
  const freezeCache = new TtlCache<number, FreezePeriod[]>({ ttlMs: FREEZE_TTL_MS, max: 5_000, now });
  const jobsCache = new TtlCache<string, PipelineJob[]>({ ttlMs: JOBS_TTL_MS, max: 5_000, now });

  const call = readParsed;

  return {
    async currentDeployment(d) {
      const env = await reader.environment(d.project.id, d.environment.id, CURRENT_MAX_AGE_MS);
      return env.last_deployment ? deployedVersion(env.last_deployment) : null;
    },

    async commits(projectId, range) {
      const page = await call(
        `GET commits ${range}`,
        () => commits.all(projectId, { refName: range, perPage: 100, page: 1, showExpanded: true } as never),
        z.object({
          data: z.array(CommitSchema),
          paginationInfo: z.object({ next: z.number().nullish() }).optional(),
        }),
      );
      return {
        commits: page.data.map((c): RangeCommit => ({
          sha: c.id,
          title: bounded(c.title ?? '', TITLE_MAX),
          authorName: bounded(c.author_name ?? '', NAME_MAX),
          webUrl: c.web_url ?? null,
        })),
        more: Boolean(page.paginationInfo?.next),
      };
    },

    async mergedMergeRequests(projectId, query) {
      const list = await call(
        `GET merged merge requests of ${query.targetBranch}`,
        () =>
          mergeRequests.all({
            projectId,
            state: 'merged',
            targetBranch: query.targetBranch,
            ...(query.updatedAfter !== null && { updatedAfter: query.updatedAfter }),
            orderBy: 'updated_at',
            sort: 'desc',
            perPage: 100,
            page: 1,
          } as never),
        z.array(MergeRequestSchema),
      );
      return list.map((mr): MergeRequestRef => ({
        iid: mr.iid,
        title: bounded(mr.title, TITLE_MAX),
        webUrl: mr.web_url,
        author: mr.author ? toUser(mr.author) : null,
        shas: [mr.merge_commit_sha, mr.squash_commit_sha, mr.sha].filter((s): s is string => Boolean(s)),
      }));
    },

    async pipelineJobs(projectId, pipelineId, pipelineUpdatedAt) {
      return jobsCache.getOrLoad(
        `${projectId}:${pipelineId}:${pipelineUpdatedAt ?? ''}`,
        async () => {
          const list = await call(
            `GET jobs of pipeline ${pipelineId}`,
            () => jobs.all(projectId, { pipelineId, perPage: 100, page: 1 } as never),
            z.array(JobSchema),
          );
          return list.map((j) => ({
            id: j.id,
            name: j.name,
            status: j.status,
            allowFailure: j.allow_failure ?? false,
          }));
        },
        (list) => (list.some((j) => UNFINISHED.has(j.status)) ? RUNNING_JOBS_TTL_MS : JOBS_TTL_MS),
      );
    },

    async freezePeriods(projectId) {
      return freezeCache.getOrLoad(projectId, async () => {
        const list = await call(
          `GET freeze periods of project ${projectId}`,
          () => freezePeriods.all(projectId, { perPage: 100, page: 1 } as never),
          z.array(FreezePeriodSchema),
        );
        return list.map((p) => ({ start: p.freeze_start, end: p.freeze_end, timezone: p.cron_timezone || 'UTC' }));
      });
    },
  };
}

function deployedVersion(d: LastDeploymentEntity): DeployedVersion {
  const commit = d.deployable?.commit;
  const by = d.deployable?.user ?? d.user;
  return {
    deploymentId: d.id,
    ref: d.ref,
    sha: d.sha,
    at: d.finished_at ?? d.updated_at ?? d.created_at,
    by: by ? toUser(by) : null,
    commitDate: commit?.committed_date ?? commit?.created_at ?? null,
  };
}
