// Shared by the REST route files: the route type, resolving :id, paginated answers, param readers.
import { canReadGroup, canReadProject, groupFullPath } from '../access.ts';
import type { Ctx } from '../context.ts';
import type { GroupRec, ProjectRec, TokenRec, UserRec } from '../model.ts';
import { paginate } from '../http/pagination.ts';
import type { Routable } from '../http/router.ts';
import { json, message, type HttpResult, type Incoming } from '../http/types.ts';

export interface ApiCall {
  ctx: Ctx;
  incoming: Incoming;
  params: Record<string, string>;
  /** The acting user (Sudo target when sudo was used). */
  user: UserRec;
  token: TokenRec;
  viaSudo: boolean;
}

export interface ApiRoute extends Routable {
  /** Scopes that may call it; default: GET api|read_api, others api. */
  scopes?: readonly string[];
  handle(call: ApiCall): HttpResult;
}

/** `:id` is a numeric id or a URL-encoded full path. */
export function resolveProject(call: ApiCall, id = call.params.id ?? ''): ProjectRec | HttpResult {
  const { state } = call.ctx;
  const project = /^\d+$/.test(id)
    ? state.projects.get(Number(id))
    : [...state.projects.values()].find((p) => p.pathWithNamespace.toLowerCase() === id.toLowerCase());
  if (!project || !canReadProject(state, call.user, project)) return message(404, '404 Project Not Found');
  return project;
}

export function resolveGroup(call: ApiCall, id = call.params.id ?? ''): GroupRec | HttpResult {
  const { state } = call.ctx;
  const group = /^\d+$/.test(id)
    ? state.groups.get(Number(id))
    : [...state.groups.values()].find((g) => groupFullPath(state, g.id).toLowerCase() === id.toLowerCase());
  if (!group || !canReadGroup(state, call.user, group)) return message(404, '404 Group Not Found');
  return group;
}

export const isResult = (value: unknown): value is HttpResult =>
  value !== null && typeof value === 'object' && 'status' in value && typeof (value as HttpResult).status === 'number';

export function paged<T>(call: ApiCall, items: readonly T[], serialize: (item: T) => unknown): HttpResult {
  const page = paginate(items, call.incoming, call.ctx.baseUrl());
  if (!page.ok) return page.result;
  return json(200, page.items.map(serialize), page.headers);
}

export function stringParam(call: ApiCall, name: string): string | undefined {
  const value = call.incoming.params[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : String(value);
}

/** Grape Boolean coercion; undefined when absent, 'invalid' when not a boolean. */
export function boolParam(call: ApiCall, name: string): boolean | undefined | 'invalid' {
  const value = call.incoming.params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true' || value === '1' || value === 1) return true;
  if (value === false || value === 'false' || value === '0' || value === 0) return false;
  return 'invalid';
}

export const forbidden = (): HttpResult => message(403, '403 Forbidden');
export const notFound = (what = ''): HttpResult =>
  message(404, what === '' ? '404 Not found' : `404 ${what} Not Found`);
