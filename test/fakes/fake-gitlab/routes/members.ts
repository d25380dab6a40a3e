// Members (direct and inherited) and protected environments (project and group level).
import { groupChain, hasGroupRole, hasRole } from '../access.ts';
import { lookup, memberEntity, protectedEnvEntity } from '../entities.ts';
import { json } from '../http/types.ts';
import { ACCESS, type MemberRec, type ProtectedEnvRec } from '../model.ts';
import {
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

/** Highest membership per user across the given member maps. */
function mergeMembers(maps: ReadonlyArray<Map<number, MemberRec> | undefined>): Map<number, MemberRec> {
  const merged = new Map<number, MemberRec>();
  for (const map of maps) {
    for (const [userId, member] of map ?? []) {
      const current = merged.get(userId);
      if (!current || member.accessLevel > current.accessLevel) merged.set(userId, member);
    }
  }
  return merged;
}

function answerMembers(call: ApiCall, members: Map<number, MemberRec>) {
  const query = stringParam(call, 'query')?.toLowerCase();
  const rows = [...members.entries()]
    .map(([userId, member]) => ({ user: lookup(call.ctx.state.users, userId, 'user'), member }))
    .filter(
      ({ user }) =>
        query === undefined || user.username.toLowerCase().includes(query) || user.name.toLowerCase().includes(query),
    )
    .sort((a, b) => a.user.id - b.user.id);
  return paged(call, rows, ({ user, member }) => memberEntity(call.ctx, user, member));
}

function protectedEnvsOf(call: ApiCall, match: (pe: ProtectedEnvRec) => boolean): ProtectedEnvRec[] {
  return [...call.ctx.state.protectedEnvs.values()].filter(match).sort((a, b) => a.id - b.id);
}

export const memberRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: '/projects/:id/members/all',
    handle: (call) => {
      const project = resolveProject(call);
      if (isResult(project)) return project;
      const { state } = call.ctx;
      const owner =
        project.ownerUserId === null
          ? undefined
          : new Map([[project.ownerUserId, { accessLevel: ACCESS.owner, createdAt: project.createdAt }]]);
      const groups = groupChain(state, project.groupId).map((g) => state.groupMembers.get(g.id));
      return answerMembers(call, mergeMembers([state.projectMembers.get(project.id), owner, ...groups]));
    },
  },
  {
    // one member, direct or inherited (GitLab 12.4+): 404 when the user is no member at all
    method: 'GET',
    pattern: '/projects/:id/members/all/:user_id',
    handle: (call) => {
      const project = resolveProject(call);
      if (isResult(project)) return project;
      const { state } = call.ctx;
      const userId = Number(call.params.user_id);
      const owner =
        project.ownerUserId === null
          ? undefined
          : new Map([[project.ownerUserId, { accessLevel: ACCESS.owner, createdAt: project.createdAt }]]);
      const groups = groupChain(state, project.groupId).map((g) => state.groupMembers.get(g.id));
      const member = mergeMembers([state.projectMembers.get(project.id), owner, ...groups]).get(userId);
      const user = state.users.get(userId);
      if (!member || !user) return notFound();
      return json(200, memberEntity(call.ctx, user, member));
    },
  },
  {
    method: 'GET',
    pattern: '/groups/:id/members',
    handle: (call) => {
      const group = resolveGroup(call);
      if (isResult(group)) return group;
      return answerMembers(call, mergeMembers([call.ctx.state.groupMembers.get(group.id)]));
    },
  },
  {
    method: 'GET',
    pattern: '/groups/:id/members/all',
    handle: (call) => {
      const group = resolveGroup(call);
      if (isResult(group)) return group;
      const { state } = call.ctx;
      return answerMembers(call, mergeMembers(groupChain(state, group.id).map((g) => state.groupMembers.get(g.id))));
    },
  },
  {
    method: 'GET',
    pattern: '/projects/:id/protected_environments',
    handle: (call) => {
      const project = resolveProject(call);
      if (isResult(project)) return project;
      if (!hasRole(call.ctx.state, call.user, project, ACCESS.maintainer)) return forbidden();
      const list = protectedEnvsOf(
        call,
        (pe) => pe.container.kind === 'project' && pe.container.projectId === project.id,
      );
      return paged(call, list, (pe) => protectedEnvEntity(call.ctx, pe));
    },
  },
  {
    method: 'GET',
    pattern: '/projects/:id/protected_environments/:name',
    handle: (call) => {
      const project = resolveProject(call);
      if (isResult(project)) return project;
      if (!hasRole(call.ctx.state, call.user, project, ACCESS.maintainer)) return forbidden();
      const [pe] = protectedEnvsOf(
        call,
        (p) => p.container.kind === 'project' && p.container.projectId === project.id && p.name === call.params.name,
      );
      return pe ? json(200, protectedEnvEntity(call.ctx, pe)) : notFound();
    },
  },
  {
    method: 'GET',
    pattern: '/groups/:id/protected_environments',
    handle: (call) => {
      const group = resolveGroup(call);
      if (isResult(group)) return group;
      if (!hasGroupRole(call.ctx.state, call.user, group.id, ACCESS.maintainer)) return forbidden();
      const list = protectedEnvsOf(call, (pe) => pe.container.kind === 'group' && pe.container.groupId === group.id);
      return paged(call, list, (pe) => protectedEnvEntity(call.ctx, pe));
    },
  },
  {
    method: 'GET',
    pattern: '/groups/:id/protected_environments/:name',
    handle: (call) => {
      const group = resolveGroup(call);
      if (isResult(group)) return group;
      if (!hasGroupRole(call.ctx.state, call.user, group.id, ACCESS.maintainer)) return forbidden();
      const [pe] = protectedEnvsOf(
        call,
        (p) => p.container.kind === 'group' && p.container.groupId === group.id && p.name === call.params.name,
      );
      return pe ? json(200, protectedEnvEntity(call.ctx, pe)) : notFound();
    },
  },
];
