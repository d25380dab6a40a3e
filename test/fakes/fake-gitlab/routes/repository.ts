// What a deployment changes: commits (ranges), merged merge requests, deploy freezes, the pipeline's jobs.
import { logCommits } from '../domain/repository.ts';
import {
  freezePeriodEntity,
  jobEntity,
  mergeRequestEntity,
  pipelineJobEntity,
  repositoryCommitEntity,
} from '../entities.ts';
import { paginate } from '../http/pagination.ts';
import { json, message, type HttpResult } from '../http/types.ts';
import { isResult, paged, stringParam, type ApiCall, type ApiRoute } from './common.ts';
import { projectForDeployments } from './projects.ts';

const dateParam = (call: ApiCall, name: string): number | undefined | 'invalid' => {
  const raw = stringParam(call, name);
  if (raw === undefined || raw === '') return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? 'invalid' : ms;
};

/**
 * GET /projects/:id/repository/commits: `ref_name` is a branch, a sha or a revision range (`a..b`, `a...b`),
 * newest first. Like GitLab (issue 389582), no `x-total` / `x-total-pages` headers and no rel="last" link:
 * only whether a next page exists. An unknown ref lists nothing.
 */
function listCommits(call: ApiCall): HttpResult {
  const project = projectForDeployments(call);
  if (isResult(project)) return project;
  const since = dateParam(call, 'since');
  const until = dateParam(call, 'until');
  if (since === 'invalid') return json(400, { error: 'since is invalid' });
  if (until === 'invalid') return json(400, { error: 'until is invalid' });
  const ref = stringParam(call, 'ref_name') || project.defaultBranch;
  const commits = (logCommits(call.ctx.state, project.id, ref) ?? []).filter(
    (c) => (since === undefined || c.createdAt >= since) && (until === undefined || c.createdAt <= until),
  );
  const page = paginate(commits, call.incoming, call.ctx.baseUrl());
  if (!page.ok) return page.result;
  const { 'x-total': _total, 'x-total-pages': _pages, ...headers } = page.headers;
  headers.link = (headers.link ?? '')
    .split(', ')
    .filter((l) => !l.endsWith('rel="last"'))
    .join(', ');
  return json(
    200,
    page.items.map((c) => repositoryCommitEntity(call.ctx, project, c)),
    headers,
  );
}

const MR_STATES = ['opened', 'closed', 'locked', 'merged', 'all'];
const MR_ORDER = ['created_at', 'updated_at', 'merged_at', 'title'];

/** GET /projects/:id/merge_requests (every merge request of the fake is merged). */
function listMergeRequests(call: ApiCall): HttpResult {
  const state = stringParam(call, 'state') ?? 'all';
  if (!MR_STATES.includes(state)) return json(400, { error: 'state does not have a valid value' });
  const orderBy = stringParam(call, 'order_by') ?? 'created_at';
  if (!MR_ORDER.includes(orderBy)) return json(400, { error: 'order_by does not have a valid value' });
  const sort = stringParam(call, 'sort') ?? 'desc';
  if (sort !== 'asc' && sort !== 'desc') return json(400, { error: 'sort does not have a valid value' });
  const updatedAfter = dateParam(call, 'updated_after');
  const updatedBefore = dateParam(call, 'updated_before');
  if (updatedAfter === 'invalid') return json(400, { error: 'updated_after is invalid' });
  if (updatedBefore === 'invalid') return json(400, { error: 'updated_before is invalid' });
  const project = projectForDeployments(call);
  if (isResult(project)) return project;
  const target = stringParam(call, 'target_branch');
  const direction = sort === 'asc' ? 1 : -1;
  const sortKey = (mr: { createdAt: number; updatedAt: number; mergedAt: number; title: string }) =>
    orderBy === 'updated_at' ? mr.updatedAt : orderBy === 'merged_at' ? mr.mergedAt : mr.createdAt;
  const items = [...call.ctx.state.mergeRequests.values()]
    .filter((mr) => mr.projectId === project.id)
    .filter(() => state === 'merged' || state === 'all')
    .filter((mr) => target === undefined || mr.targetBranch === target)
    .filter((mr) => updatedAfter === undefined || mr.updatedAt >= updatedAfter)
    .filter((mr) => updatedBefore === undefined || mr.updatedAt <= updatedBefore)
    .sort((a, b) =>
      orderBy === 'title'
        ? direction * a.title.localeCompare(b.title)
        : direction * (sortKey(a) - sortKey(b) || a.id - b.id),
    );
  return paged(call, items, (mr) => mergeRequestEntity(call.ctx, mr));
}

/** GET /projects/:id/freeze_periods, oldest first (Reporter and above may read them). */
function listFreezePeriods(call: ApiCall): HttpResult {
  const project = projectForDeployments(call);
  if (isResult(project)) return project;
  const items = [...call.ctx.state.freezePeriods.values()]
    .filter((p) => p.projectId === project.id)
    .sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
  return paged(call, items, freezePeriodEntity);
}

/** GET /projects/:id/pipelines/:pipeline_id/jobs: the deployment job and the other jobs, newest first. */
function listPipelineJobs(call: ApiCall): HttpResult {
  const project = projectForDeployments(call);
  if (isResult(project)) return project;
  const { state } = call.ctx;
  const pipeline = state.pipelines.get(Number(call.params.pipeline_id));
  if (!pipeline || pipeline.projectId !== project.id) return message(404, '404 Pipeline Not Found');
  const scope = call.incoming.url.searchParams.getAll('scope[]');
  const deploymentJobs = [...state.deployments.values()]
    .filter((d) => d.pipelineId === pipeline.id)
    .map((d) => ({
      id: d.jobId,
      status: state.jobs.get(d.jobId)!.status,
      json: () => jobEntity(call.ctx, state.jobs.get(d.jobId)!),
    }));
  const others = pipeline.otherJobIds.map((id) => {
    const job = state.pipelineJobs.get(id)!;
    return { id, status: job.status as string, json: () => pipelineJobEntity(call.ctx, job) };
  });
  const items = [...deploymentJobs, ...others]
    .filter((j) => scope.length === 0 || scope.includes(j.status))
    .sort((a, b) => b.id - a.id);
  return paged(call, items, (j) => j.json());
}

export const repositoryRoutes: ApiRoute[] = [
  { method: 'GET', pattern: '/projects/:id/repository/commits', handle: listCommits },
  { method: 'GET', pattern: '/projects/:id/merge_requests', handle: listMergeRequests },
  { method: 'GET', pattern: '/projects/:id/freeze_periods', handle: listFreezePeriods },
  { method: 'GET', pattern: '/projects/:id/pipelines/:pipeline_id/jobs', handle: listPipelineJobs },
];
