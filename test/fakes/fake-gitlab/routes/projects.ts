// Projects, groups, environments and jobs (incl. play).
import {
  canReadDeployments,
  canReadGroup,
  canReadProject,
  groupAccess,
  isDescendantGroup,
  projectAccess,
} from '../access.ts';
import { deploymentEntity, environmentEntity, groupEntity, jobEntity, projectEntity } from '../entities.ts';
import { playJob, runJob } from '../domain/jobs.ts';
import { json, type HttpResult } from '../http/types.ts';
import type { ProjectRec } from '../model.ts';
import {
  boolParam,
  forbidden,
  isResult,
  notFound,
  paged,
  resolveGroup,
  resolveProject,
  stringParam,
  type ApiCall,
  type ApiRoute,
} from './common.ts';

/** Resolve :id and require read_deployment (Reporter+); 404 project / 403 Guest as in §3. */
export function projectForDeployments(call: ApiCall): ProjectRec | HttpResult {
  const project = resolveProject(call);
  if (isResult(project)) return project;
  if (!canReadDeployments(call.ctx.state, call.user, project)) return forbidden();
  return project;
}

function findJob(call: ApiCall, project: ProjectRec) {
  const id = Number(call.params.job_id);
  const job = call.ctx.state.jobs.get(id);
  return job && job.projectId === project.id ? job : undefined;
}

/**
 * `min_access_level` filters by the user's own role (memberships, direct or inherited), also for an
 * administrator: GitLab's ProjectsFinder / GroupsFinder use the user's authorizations, not admin rights.
 */
function minAccessLevel(call: ApiCall): number | undefined | HttpResult {
  const raw = stringParam(call, 'min_access_level');
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) return json(400, { error: 'min_access_level is invalid' });
  return Number(raw);
}

/**
 * `order_by` (id, name, path, created_at, updated_at, last_activity_at; default created_at) and `sort` (asc, desc;
 * default desc) of GET /groups/:id/projects (lib/api/groups.rb). Offset pagination only: the endpoint is not in
 * GitLab's keyset-supported list (doc/api/rest/_index.md), so there is no offset limit either.
 */
function projectOrder(call: ApiCall): ((a: ProjectRec, b: ProjectRec) => number) | HttpResult {
  const orderBy = stringParam(call, 'order_by') ?? 'created_at';
  const sort = stringParam(call, 'sort') ?? 'desc';
  if (!['id', 'name', 'path', 'created_at', 'updated_at', 'last_activity_at', 'similarity'].includes(orderBy))
    return json(400, { error: 'order_by does not have a valid value' });
  if (!['asc', 'desc'].includes(sort)) return json(400, { error: 'sort does not have a valid value' });
  const sign = sort === 'asc' ? 1 : -1;
  const key = (p: ProjectRec): number | string =>
    orderBy === 'id' ? p.id : orderBy === 'name' ? p.name : orderBy === 'path' ? p.path : p.createdAt;
  return (a, b) => {
    const [x, y] = [key(a), key(b)];
    return sign * (x < y ? -1 : x > y ? 1 : a.id - b.id);
  };
}

/** `simple=true`: GitLab's BasicProjectDetails (no visibility, archived, settings). */
function simpleProjectEntity(ctx: Parameters<typeof projectEntity>[0], project: ProjectRec) {
  const {
    visibility: _v,
    archived: _a,
    allow_pipeline_trigger_approve_deployment: _t,
    ...basic
  } = projectEntity(ctx, project);
  return basic;
}

export function projectRoutes(opts: { autoRunPlayedJobs: () => boolean }): ApiRoute[] {
  return [
    {
      method: 'GET',
      pattern: '/projects',
      handle: (call) => {
        const level = minAccessLevel(call);
        if (isResult(level)) return level;
        const membership = boolParam(call, 'membership');
        if (membership === 'invalid') return json(400, { error: 'membership is invalid' });
        const { state } = call.ctx;
        const projects = [...state.projects.values()]
          .filter((p) => canReadProject(state, call.user, p))
          .filter((p) => (level === undefined ? true : projectAccess(state, call.user.id, p) >= level))
          .filter((p) => (membership === true ? projectAccess(state, call.user.id, p) > 0 : true))
          .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
        return paged(call, projects, (p) => projectEntity(call.ctx, p));
      },
    },
    {
      method: 'GET',
      pattern: '/groups',
      handle: (call) => {
        const level = minAccessLevel(call);
        if (isResult(level)) return level;
        const topLevel = boolParam(call, 'top_level_only');
        if (topLevel === 'invalid') return json(400, { error: 'top_level_only is invalid' });
        const { state } = call.ctx;
        const groups = [...state.groups.values()]
          .filter((g) => canReadGroup(state, call.user, g))
          .filter((g) => (level === undefined ? true : groupAccess(state, call.user.id, g.id) >= level))
          .filter((g) => (topLevel === true ? g.parentId === null : true))
          .sort((a, b) => a.id - b.id);
        return paged(call, groups, (g) => groupEntity(call.ctx, g));
      },
    },
    {
      method: 'GET',
      pattern: '/projects/:id',
      handle: (call) => {
        const project = resolveProject(call);
        return isResult(project) ? project : json(200, projectEntity(call.ctx, project));
      },
    },
    {
      method: 'GET',
      pattern: '/groups/:id',
      handle: (call) => {
        const group = resolveGroup(call);
        return isResult(group) ? group : json(200, groupEntity(call.ctx, group));
      },
    },
    {
      method: 'GET',
      pattern: '/groups/:id/projects',
      handle: (call) => {
        const group = resolveGroup(call);
        if (isResult(group)) return group;
        const includeSubgroups = boolParam(call, 'include_subgroups');
        if (includeSubgroups === 'invalid') return json(400, { error: 'include_subgroups is invalid' });
        const { state } = call.ctx;
        const projects = [...state.projects.values()]
          .filter(
            (p) =>
              p.groupId !== null &&
              (includeSubgroups === true ? isDescendantGroup(state, p.groupId, group.id) : p.groupId === group.id),
          )
          .filter((p) => canReadProject(state, call.user, p));
        const order = projectOrder(call);
        if (isResult(order)) return order;
        const simple = boolParam(call, 'simple');
        if (simple === 'invalid') return json(400, { error: 'simple is invalid' });
        return paged(call, projects.sort(order), (p) =>
          simple === true ? simpleProjectEntity(call.ctx, p) : projectEntity(call.ctx, p),
        );
      },
    },
    {
      method: 'GET',
      pattern: '/projects/:id/environments/:environment_id',
      handle: (call) => {
        const project = projectForDeployments(call);
        if (isResult(project)) return project;
        const env = call.ctx.state.environments.get(Number(call.params.environment_id));
        if (!env || env.projectId !== project.id) return notFound();
        // `last_deployment: true`, without its environment: the newest successful one (Deployment.ordered:
        // finished_at desc), null before the first.
        const last = [...call.ctx.state.deployments.values()]
          .filter((d) => d.environmentId === env.id && d.status === 'success')
          .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0) || b.id - a.id)[0];
        const lastDeployment = last ? deploymentEntity(call.ctx, last, false) : null;
        if (lastDeployment) delete lastDeployment.environment;
        return json(200, { ...environmentEntity(env), last_deployment: lastDeployment });
      },
    },
    {
      method: 'GET',
      pattern: '/projects/:id/jobs/:job_id',
      handle: (call) => {
        const project = projectForDeployments(call);
        if (isResult(project)) return project;
        const job = findJob(call, project);
        return job ? json(200, jobEntity(call.ctx, job)) : notFound();
      },
    },
    {
      method: 'POST',
      pattern: '/projects/:id/jobs/:job_id/play',
      handle: (call) => {
        const project = projectForDeployments(call);
        if (isResult(project)) return project;
        const job = findJob(call, project);
        if (!job) return notFound();
        const outcome = playJob(call.ctx, job, call.user);
        if (!outcome.ok) return json(outcome.status, outcome.body);
        const body = jobEntity(call.ctx, outcome.value);
        if (opts.autoRunPlayedJobs()) runJob(call.ctx, outcome.value);
        return json(200, body);
      },
    },
  ];
}
