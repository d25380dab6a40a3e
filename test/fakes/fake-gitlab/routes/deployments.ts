// Deployments: list (§5), single (§4), approval (§3).
import { APPROVAL_STATUSES, approveDeployment } from '../domain/approvals.ts';
import { approvalEntity, deploymentEntity } from '../entities.ts';
import { json, message, type HttpResult } from '../http/types.ts';
import { DEPLOYMENT_STATUSES, type ApprovalStatus, type DeploymentRec, type DeploymentStatus } from '../model.ts';
import { isResult, notFound, paged, stringParam, type ApiCall, type ApiRoute } from './common.ts';
import { projectForDeployments } from './projects.ts';

const ORDER_BY = ['id', 'iid', 'created_at', 'updated_at', 'finished_at'] as const;
type OrderBy = (typeof ORDER_BY)[number];

interface ListFilter {
  status?: DeploymentStatus;
  environment?: string;
  orderBy: OrderBy;
  sort: 'asc' | 'desc';
  updatedAfter?: number;
  updatedBefore?: number;
  finishedAfter?: number;
  finishedBefore?: number;
}

const badRequest = (text: string): HttpResult => message(400, `400 Bad request - ${text}`);

/** Grape param validation first (before the project is looked up), as GitLab does. */
function parseListParams(call: ApiCall): ListFilter | HttpResult {
  const status = stringParam(call, 'status');
  if (status !== undefined && !DEPLOYMENT_STATUSES.includes(status as DeploymentStatus)) {
    return json(400, { error: 'status does not have a valid value' });
  }
  const orderBy = stringParam(call, 'order_by') ?? 'id';
  if (!ORDER_BY.includes(orderBy as OrderBy)) return json(400, { error: 'order_by does not have a valid value' });
  const sort = (stringParam(call, 'sort') ?? 'asc').toLowerCase();
  if (sort !== 'asc' && sort !== 'desc') return json(400, { error: 'sort does not have a valid value' });
  const filter: ListFilter = { orderBy: orderBy as OrderBy, sort };
  if (status !== undefined) filter.status = status as DeploymentStatus;
  const environment = stringParam(call, 'environment');
  if (environment !== undefined) filter.environment = environment;
  const dates = [
    ['updated_after', 'updatedAfter'],
    ['updated_before', 'updatedBefore'],
    ['finished_after', 'finishedAfter'],
    ['finished_before', 'finishedBefore'],
  ] as const;
  for (const [param, key] of dates) {
    const raw = stringParam(call, param);
    if (raw === undefined) continue;
    const ms = Date.parse(raw);
    if (Number.isNaN(ms)) return json(400, { error: `${param} is invalid` });
    filter[key] = ms;
  }
  return filter;
}

/** DeploymentsFinder#validate! */
function finderError(filter: ListFilter): HttpResult | null {
  const byUpdated = filter.updatedAfter !== undefined || filter.updatedBefore !== undefined;
  const byFinished = filter.finishedAfter !== undefined || filter.finishedBefore !== undefined;
  if (byUpdated && byFinished)
    return badRequest('Both `updated_at` filter and `finished_at` filter can not be specified');
  if (byUpdated && filter.orderBy !== 'updated_at') return badRequest('`updated_at` filter requires `updated_at` sort');
  if (byFinished && filter.orderBy !== 'finished_at')
    return badRequest('`finished_at` filter requires `finished_at` sort.');
  const finishedStatus = filter.status === 'success' || filter.status === 'failed' || filter.status === 'canceled';
  if (filter.orderBy === 'finished_at' && !byFinished && !finishedStatus)
    return badRequest(
      '`finished_at` sort requires `finished_at` filter or a filter with at least one of the finished statuses.',
    );
  if (byFinished && filter.status !== 'success') {
    return badRequest('`finished_at` filter must be combined with `success` status filter.');
  }
  return null;
}

function sortKey(d: DeploymentRec, orderBy: OrderBy): number {
  switch (orderBy) {
    case 'id':
      return d.id;
    case 'iid':
      return d.iid;
    case 'created_at':
      return d.createdAt;
    case 'updated_at':
      return d.updatedAt;
    case 'finished_at':
      return d.finishedAt ?? Number.MAX_SAFE_INTEGER;
  }
}

function listDeployments(call: ApiCall): HttpResult {
  const filter = parseListParams(call);
  if (isResult(filter)) return filter;
  const project = projectForDeployments(call);
  if (isResult(project)) return project;
  const invalid = finderError(filter);
  if (invalid) return invalid;
  const { state } = call.ctx;
  const inRange = (value: number | null, after?: number, before?: number): boolean =>
    (after === undefined || (value !== null && value > after)) &&
    (before === undefined || (value !== null && value < before));
  const direction = filter.sort === 'asc' ? 1 : -1;
  const items = [...state.deployments.values()]
    .filter((d) => d.projectId === project.id)
    .filter((d) => filter.status === undefined || d.status === filter.status)
    .filter(
      (d) => filter.environment === undefined || state.environments.get(d.environmentId)?.name === filter.environment,
    )
    .filter((d) => inRange(d.updatedAt, filter.updatedAfter, filter.updatedBefore))
    .filter((d) => inRange(d.finishedAt, filter.finishedAfter, filter.finishedBefore))
    .sort((a, b) => direction * (sortKey(a, filter.orderBy) - sortKey(b, filter.orderBy) || a.id - b.id));
  return paged(call, items, (d) => deploymentEntity(call.ctx, d, false));
}

function findDeployment(call: ApiCall, projectId: number): DeploymentRec | undefined {
  const raw = call.params.deployment_id ?? '';
  const deployment = /^\d+$/.test(raw) ? call.ctx.state.deployments.get(Number(raw)) : undefined;
  return deployment && deployment.projectId === projectId ? deployment : undefined;
}

/** Endpoint checks in the §3 order: project 404, Guest 403, deployment 404, status 400; then the service. */
function approve(call: ApiCall): HttpResult {
  const project = projectForDeployments(call);
  if (isResult(project)) return project;
  const deployment = findDeployment(call, project.id);
  if (!deployment) return notFound();
  const status = stringParam(call, 'status');
  if (status === undefined || status === '') return json(400, { error: 'status is missing' });
  if (!APPROVAL_STATUSES.includes(status as ApprovalStatus))
    return json(400, { error: 'status does not have a valid value' });
  const outcome = approveDeployment(call.ctx, {
    deployment,
    actor: call.user,
    status: status as ApprovalStatus,
    comment: stringParam(call, 'comment') ?? null,
    representedAs: stringParam(call, 'represented_as') ?? null,
  });
  if (!outcome.ok) return json(outcome.status, outcome.body);
  return json(201, approvalEntity(call.ctx, outcome.value.approval));
}

export const deploymentRoutes: ApiRoute[] = [
  { method: 'GET', pattern: '/projects/:id/deployments', handle: listDeployments },
  {
    method: 'GET',
    pattern: '/projects/:id/deployments/:deployment_id',
    handle: (call) => {
      const project = projectForDeployments(call);
      if (isResult(project)) return project;
      const deployment = findDeployment(call, project.id);
      return deployment ? json(200, deploymentEntity(call.ctx, deployment, true)) : notFound();
    },
  },
  { method: 'POST', pattern: '/projects/:id/deployments/:deployment_id/approval', handle: approve },
];
