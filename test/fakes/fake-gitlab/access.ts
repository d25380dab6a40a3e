// Who may see and do what: memberships (direct and inherited from ancestor groups), protected
// environments matching an environment, and approval / deploy rule matching (§4, §8).
import {
  ACCESS,
  type AccessRuleRec,
  type ApprovalRuleRec,
  type Container,
  type EnvironmentRec,
  type GroupRec,
  type ProjectRec,
  type ProtectedEnvRec,
  type State,
  type UserRec,
} from './model.ts';

/** The group and its ancestors, nearest first. */
export function groupChain(state: State, groupId: number | null): GroupRec[] {
  const chain: GroupRec[] = [];
  let current = groupId === null ? undefined : state.groups.get(groupId);
  while (current) {
    chain.push(current);
    current = current.parentId === null ? undefined : state.groups.get(current.parentId);
  }
  return chain;
}

export function groupFullPath(state: State, groupId: number): string {
  return groupChain(state, groupId)
    .map((g) => g.path)
    .reverse()
    .join('/');
}

export function isDescendantGroup(state: State, groupId: number, ancestorId: number): boolean {
  return groupChain(state, groupId).some((g) => g.id === ancestorId);
}

export function directGroupAccess(state: State, userId: number, groupId: number): number {
  return state.groupMembers.get(groupId)?.get(userId)?.accessLevel ?? ACCESS.noAccess;
}

/** Role in a group, inherited from its ancestors (GitLab's max_member_access_for_group). */
export function groupAccess(state: State, userId: number, groupId: number): number {
  return Math.max(ACCESS.noAccess, ...groupChain(state, groupId).map((g) => directGroupAccess(state, userId, g.id)));
}

export function projectAccess(state: State, userId: number, project: ProjectRec): number {
  const direct = state.projectMembers.get(project.id)?.get(userId)?.accessLevel ?? ACCESS.noAccess;
  const owner = project.ownerUserId === userId ? ACCESS.owner : ACCESS.noAccess;
  const inherited = project.groupId === null ? ACCESS.noAccess : groupAccess(state, userId, project.groupId);
  return Math.max(direct, owner, inherited);
}

export function containerAccess(state: State, userId: number, container: Container): number {
  if (container.kind === 'group') return groupAccess(state, userId, container.groupId);
  const project = state.projects.get(container.projectId);
  return project ? projectAccess(state, userId, project) : ACCESS.noAccess;
}

export function canReadProject(state: State, user: UserRec, project: ProjectRec): boolean {
  if (user.admin || project.visibility !== 'private') return true;
  return projectAccess(state, user.id, project) >= ACCESS.guest;
}

/** read_deployment / read_environment: Reporter and up (a Guest gets 403). */
export function canReadDeployments(state: State, user: UserRec, project: ProjectRec): boolean {
  return user.admin || projectAccess(state, user.id, project) >= ACCESS.reporter;
}

export function hasRole(state: State, user: UserRec, project: ProjectRec, level: number): boolean {
  return user.admin || projectAccess(state, user.id, project) >= level;
}

export function hasGroupRole(state: State, user: UserRec, groupId: number, level: number): boolean {
  return user.admin || groupAccess(state, user.id, groupId) >= level;
}

/** A group is visible to admins, when not private, or to anyone with a membership in it, above or below. */
export function canReadGroup(state: State, user: UserRec, group: GroupRec): boolean {
  if (user.admin || group.visibility !== 'private') return true;
  if (groupAccess(state, user.id, group.id) > ACCESS.noAccess) return true;
  for (const other of state.groups.values()) {
    if (isDescendantGroup(state, other.id, group.id) && directGroupAccess(state, user.id, other.id) > 0) return true;
  }
  for (const project of state.projects.values()) {
    if (project.groupId !== null && isDescendantGroup(state, project.groupId, group.id)) {
      if ((state.projectMembers.get(project.id)?.get(user.id)?.accessLevel ?? 0) > 0) return true;
    }
  }
  return false;
}

const ROLE_NAMES: Record<number, string> = {
  [ACCESS.developer]: 'Developers + Maintainers',
  [ACCESS.maintainer]: 'Maintainers',
  [ACCESS.admin]: 'Instance admins',
  [ACCESS.noAccess]: 'No one',
};

/** The rule's humanized name (access_level_description; what `represented_as` is matched against). */
export function humanizeRule(state: State, rule: AccessRuleRec): string {
  if (rule.userId !== null) return state.users.get(rule.userId)?.name ?? `User ${rule.userId}`;
  if (rule.groupId !== null) return state.groups.get(rule.groupId)?.name ?? `Group ${rule.groupId}`;
  return ROLE_NAMES[rule.accessLevel ?? -1] ?? `Access level ${rule.accessLevel}`;
}

/** ProtectedEnvironments::Authorizable#check_access. */
export function matchesRule(state: State, user: UserRec, rule: AccessRuleRec, container: Container): boolean {
  if (user.admin) return true;
  if (rule.userId !== null) return rule.userId === user.id;
  if (rule.groupId !== null) {
    return rule.groupInheritanceType === 1
      ? groupAccess(state, user.id, rule.groupId) > ACCESS.noAccess
      : directGroupAccess(state, user.id, rule.groupId) > ACCESS.noAccess;
  }
  if (rule.accessLevel !== null) return containerAccess(state, user.id, container) >= rule.accessLevel;
  return false;
}

/** Project entries named like the environment, plus group entries on any ancestor named like its tier (§8). */
export function protectedEnvsFor(state: State, environment: EnvironmentRec): ProtectedEnvRec[] {
  const project = state.projects.get(environment.projectId);
  if (!project) return [];
  const ancestorIds = new Set(groupChain(state, project.groupId).map((g) => g.id));
  return [...state.protectedEnvs.values()].filter((pe) =>
    pe.container.kind === 'project'
      ? pe.container.projectId === project.id && pe.name === environment.name
      : ancestorIds.has(pe.container.groupId) && pe.name === environment.tier,
  );
}

export interface BoundRule {
  rule: ApprovalRuleRec;
  container: Container;
}

/** associated_approval_rules: every rule of every matching entry, in creation (id) order. */
export function approvalRulesFor(state: State, environment: EnvironmentRec): BoundRule[] {
  return protectedEnvsFor(state, environment)
    .flatMap((pe) => pe.approvalRules.map((rule) => ({ rule, container: pe.container })))
    .sort((a, b) => a.rule.id - b.rule.id);
}

/** Deploy rights: allowed by every matching protected environment (default rule: Maintainers). */
export function canDeployTo(state: State, user: UserRec, environment: EnvironmentRec): boolean {
  if (user.admin) return true;
  return protectedEnvsFor(state, environment).every((pe) =>
    pe.deployAccessLevels.some((rule) => matchesRule(state, user, rule, pe.container)),
  );
}
