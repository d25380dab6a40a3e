// Project hooks (Maintainer) and group hooks (Owner): list, create, update, delete.
import { addHook } from '../builders.ts';
import { hookEntity } from '../entities.ts';
import { json, type HttpResult } from '../http/types.ts';
import { hasGroupRole, hasRole } from '../access.ts';
import { ACCESS, type Container, type HookRec } from '../model.ts';
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

const FLAGS = [
  ['push_events', 'pushEvents'],
  ['deployment_events', 'deploymentEvents'],
  ['pipeline_events', 'pipelineEvents'],
  ['job_events', 'jobEvents'],
  ['enable_ssl_verification', 'enableSslVerification'],
] as const;

type Flags = Partial<Pick<HookRec, (typeof FLAGS)[number][1]>>;

function readFlags(call: ApiCall): Flags | HttpResult {
  const flags: Flags = {};
  for (const [param, key] of FLAGS) {
    const value = boolParam(call, param);
    if (value === 'invalid') return json(400, { error: `${param} is invalid` });
    if (value !== undefined) flags[key] = value;
  }
  return flags;
}

function urlProblem(url: string): HttpResult | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return json(422, { message: { url: ['is blocked: URI is invalid'] } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return json(422, { message: { url: ['is blocked: Only allowed schemes are http, https'] } });
  }
  return null;
}

/** Resolve the hook container from :id and check the role needed to manage its hooks. */
function containerFor(call: ApiCall, kind: Container['kind']): Container | HttpResult {
  const { state } = call.ctx;
  if (kind === 'project') {
    const project = resolveProject(call);
    if (isResult(project)) return project;
    return hasRole(state, call.user, project, ACCESS.maintainer) ? { kind, projectId: project.id } : forbidden();
  }
  const group = resolveGroup(call);
  if (isResult(group)) return group;
  return hasGroupRole(state, call.user, group.id, ACCESS.owner) ? { kind, groupId: group.id } : forbidden();
}

const sameContainer = (a: Container, b: Container): boolean =>
  a.kind === 'project' && b.kind === 'project'
    ? a.projectId === b.projectId
    : a.kind === 'group' && b.kind === 'group' && a.groupId === b.groupId;

function findHook(call: ApiCall, container: Container): HookRec | undefined {
  const hook = call.ctx.state.hooks.get(Number(call.params.hook_id));
  return hook && sameContainer(hook.container, container) ? hook : undefined;
}

function routesFor(kind: Container['kind']): ApiRoute[] {
  const base = kind === 'project' ? '/projects/:id/hooks' : '/groups/:id/hooks';
  return [
    {
      method: 'GET',
      pattern: base,
      handle: (call) => {
        const container = containerFor(call, kind);
        if (isResult(container)) return container;
        const hooks = [...call.ctx.state.hooks.values()].filter((h) => sameContainer(h.container, container));
        return paged(call, hooks, (h) => hookEntity(call.ctx, h));
      },
    },
    {
      method: 'GET',
      pattern: `${base}/:hook_id`,
      handle: (call) => {
        const container = containerFor(call, kind);
        if (isResult(container)) return container;
        const hook = findHook(call, container);
        return hook ? json(200, hookEntity(call.ctx, hook)) : notFound();
      },
    },
    {
      method: 'POST',
      pattern: base,
      handle: (call) => {
        const container = containerFor(call, kind);
        if (isResult(container)) return container;
        const url = stringParam(call, 'url');
        if (url === undefined || url === '') return json(400, { error: 'url is missing' });
        const flags = readFlags(call);
        if (isResult(flags)) return flags;
        const problem = urlProblem(url);
        if (problem) return problem;
        const token = stringParam(call, 'token');
        const name = stringParam(call, 'name');
        const description = stringParam(call, 'description');
        const hook = addHook(call.ctx, {
          ...(container.kind === 'project' ? { projectId: container.projectId } : { groupId: container.groupId }),
          url,
          ...flags,
          ...(token !== undefined ? { token } : {}),
          ...(name !== undefined ? { name } : {}),
          ...(description !== undefined ? { description } : {}),
        });
        return json(201, hookEntity(call.ctx, hook));
      },
    },
    {
      method: 'PUT',
      pattern: `${base}/:hook_id`,
      handle: (call) => {
        const container = containerFor(call, kind);
        if (isResult(container)) return container;
        const hook = findHook(call, container);
        if (!hook) return notFound();
        const flags = readFlags(call);
        if (isResult(flags)) return flags;
        const url = stringParam(call, 'url');
        if (url !== undefined) {
          const problem = urlProblem(url);
          if (problem) return problem;
          hook.url = url;
        }
        Object.assign(hook, flags);
        const token = stringParam(call, 'token');
        if (token !== undefined) hook.token = token === '' ? null : token;
        const name = stringParam(call, 'name');
        if (name !== undefined) hook.name = name;
        const description = stringParam(call, 'description');
        if (description !== undefined) hook.description = description;
        return json(200, hookEntity(call.ctx, hook));
      },
    },
    {
      method: 'DELETE',
      pattern: `${base}/:hook_id`,
      handle: (call) => {
        const container = containerFor(call, kind);
        if (isResult(container)) return container;
        const hook = findHook(call, container);
        if (!hook) return notFound();
        call.ctx.state.hooks.delete(hook.id);
        return { status: 204 };
      },
    },
  ];
}

export const hookRoutes: ApiRoute[] = [...routesFor('project'), ...routesFor('group')];
