// State builders behind fake.addUser / addGroup / addProject / ... (tests arrange the world with them).
import { groupFullPath } from './access.ts';
import type { Ctx } from './context.ts';
import { lookup } from './entities.ts';
import {
  ACCESS,
  TIERS,
  nextId,
  reserveId,
  type AccessRuleRec,
  type ApprovalRuleRec,
  type Container,
  type GroupRec,
  type HookRec,
  type OAuthAppRec,
  type ProjectRec,
  type ProtectedEnvRec,
  type State,
  type Tier,
  type TokenKind,
  type TokenRec,
  type UserRec,
  type UserState,
  type Visibility,
} from './model.ts';

export interface AddUserInput {
  username: string;
  name?: string;
  /** Private email; default `<username>@example.com`. */
  email?: string;
  publicEmail?: string | null;
  admin?: boolean;
  state?: UserState;
}

export interface AddGroupInput {
  path: string;
  name?: string;
  parentId?: number | null;
  visibility?: Visibility;
}

export interface AddProjectInput {
  /** "acme/payments/web": the namespace is everything before the last "/". Missing groups are created. */
  pathWithNamespace: string;
  id?: number;
  /** Optional check that the namespace is this group. */
  groupId?: number;
  name?: string;
  defaultBranch?: string;
  visibility?: Visibility;
  description?: string;
  allowPipelineTriggerApproveDeployment?: boolean;
}

export interface AddTokenInput {
  token: string;
  userId: number;
  /** e.g. ['api'], ['read_api'], ['api', 'sudo'], ['read_user']. */
  scopes: string[];
  kind?: TokenKind;
  /**
   * Date, epoch ms, or "YYYY-MM-DD" (a PAT stops working at the start
   * of that UTC day). OAuth default: 2 h from now; PAT default: never.
   */
  expiresAt?: Date | number | string | null;
  name?: string;
  revoked?: boolean;
}

/** Exactly one of userId, groupId, accessLevel. */
export interface AccessRuleInput {
  userId?: number;
  groupId?: number;
  accessLevel?: number;
  /** 0 = direct group members only (default), 1 = members inherited from parent groups too. */
  groupInheritanceType?: 0 | 1;
}

export interface ApprovalRuleInput extends AccessRuleInput {
  /** 1..5 */
  requiredApprovals: number;
}

export interface ProtectEnvironmentInput {
  approvalRules?: ApprovalRuleInput[];
  /** Who may deploy (play). Default: Maintainers. */
  deployAccessLevels?: AccessRuleInput[];
}

export interface AddHookInput {
  projectId?: number;
  groupId?: number;
  url: string;
  token?: string | null;
  name?: string;
  description?: string;
  /** GitLab's defaults: push events on, everything else off. */
  deploymentEvents?: boolean;
  pipelineEvents?: boolean;
  jobEvents?: boolean;
  pushEvents?: boolean;
  enableSslVerification?: boolean;
}

export interface AddOAuthApplicationInput {
  clientId: string;
  clientSecret: string;
  /** One or more exact redirect URIs. */
  redirectUri: string | string[];
  scopes: string[];
  /** Confidential apps must send client_secret at the token endpoint (default true). */
  confidential?: boolean;
  name?: string;
}

const titleize = (s: string): string => s.replace(/[-_.]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());

export function addUser(ctx: Ctx, input: AddUserInput): UserRec {
  const { state } = ctx;
  if ([...state.users.values()].some((u) => u.username.toLowerCase() === input.username.toLowerCase())) {
    throw new Error(`addUser: username ${input.username} is taken`);
  }
  const user: UserRec = {
    id: nextId(state, 'user'),
    username: input.username,
    name: input.name ?? titleize(input.username),
    email: input.email ?? `${input.username}@example.com`,
    publicEmail: input.publicEmail ?? null,
    admin: input.admin ?? false,
    state: input.state ?? 'active',
    createdAt: ctx.clock.now(),
  };
  state.users.set(user.id, user);
  return user;
}

export function addGroup(ctx: Ctx, input: AddGroupInput): GroupRec {
  const { state } = ctx;
  const parentId = input.parentId ?? null;
  if (parentId !== null) lookup(state.groups, parentId, 'parent group');
  const fullPath = parentId === null ? input.path : `${groupFullPath(state, parentId)}/${input.path}`;
  if (findGroupByPath(state, fullPath)) throw new Error(`addGroup: ${fullPath} exists`);
  const group: GroupRec = {
    id: nextId(state, 'group'),
    path: input.path,
    name: input.name ?? input.path,
    parentId,
    visibility: input.visibility ?? 'private',
    createdAt: ctx.clock.now(),
  };
  state.groups.set(group.id, group);
  return group;
}

export function findGroupByPath(state: State, fullPath: string): GroupRec | undefined {
  return [...state.groups.values()].find((g) => groupFullPath(state, g.id).toLowerCase() === fullPath.toLowerCase());
}

function ensureGroupPath(ctx: Ctx, fullPath: string): GroupRec {
  let parent: GroupRec | undefined;
  const segments = fullPath.split('/');
  for (const [i, segment] of segments.entries()) {
    const path = segments.slice(0, i + 1).join('/');
    parent = findGroupByPath(ctx.state, path) ?? addGroup(ctx, { path: segment, parentId: parent?.id ?? null });
  }
  if (!parent) throw new Error(`addProject: empty namespace in ${fullPath}`);
  return parent;
}

export function addProject(ctx: Ctx, input: AddProjectInput): ProjectRec {
  const { state } = ctx;
  const slash = input.pathWithNamespace.lastIndexOf('/');
  if (slash <= 0) throw new Error(`addProject: "${input.pathWithNamespace}" needs a namespace, like "acme/web"`);
  const namespacePath = input.pathWithNamespace.slice(0, slash);
  const path = input.pathWithNamespace.slice(slash + 1);
  if (
    [...state.projects.values()].some(
      (p) => p.pathWithNamespace.toLowerCase() === input.pathWithNamespace.toLowerCase(),
    )
  ) {
    throw new Error(`addProject: ${input.pathWithNamespace} exists`);
  }
  let groupId: number | null = null;
  let ownerUserId: number | null = null;
  if (input.groupId !== undefined) {
    lookup(state.groups, input.groupId, 'group');
    if (groupFullPath(state, input.groupId) !== namespacePath) {
      throw new Error(
        `addProject: group ${input.groupId} is ${groupFullPath(state, input.groupId)}, not ${namespacePath}`,
      );
    }
    groupId = input.groupId;
  } else {
    const owner = namespacePath.includes('/')
      ? undefined
      : [...state.users.values()].find((u) => u.username.toLowerCase() === namespacePath.toLowerCase());
    const group = findGroupByPath(state, namespacePath);
    if (!group && owner) ownerUserId = owner.id;
    else groupId = (group ?? ensureGroupPath(ctx, namespacePath)).id;
  }
  let id: number;
  if (input.id !== undefined) {
    if (state.projects.has(input.id)) throw new Error(`addProject: id ${input.id} is taken`);
    id = input.id;
    reserveId(state, 'project', id);
  } else {
    id = nextId(state, 'project');
    while (state.projects.has(id)) id = nextId(state, 'project');
  }
  const project: ProjectRec = {
    id,
    name: input.name ?? path,
    path,
    pathWithNamespace: input.pathWithNamespace,
    groupId,
    ownerUserId,
    defaultBranch: input.defaultBranch ?? 'main',
    visibility: input.visibility ?? 'private',
    description: input.description ?? '',
    allowPipelineTriggerApproveDeployment: input.allowPipelineTriggerApproveDeployment ?? false,
    createdAt: ctx.clock.now(),
  };
  state.projects.set(project.id, project);
  return project;
}

function validLevel(level: number): void {
  if (!Object.values(ACCESS).includes(level as never)) throw new Error(`invalid access level ${level}`);
}

export function addGroupMember(ctx: Ctx, groupId: number, userId: number, accessLevel: number): void {
  lookup(ctx.state.groups, groupId, 'group');
  lookup(ctx.state.users, userId, 'user');
  validLevel(accessLevel);
  const members = ctx.state.groupMembers.get(groupId) ?? new Map();
  members.set(userId, { accessLevel, createdAt: ctx.clock.now() });
  ctx.state.groupMembers.set(groupId, members);
}

export function addProjectMember(ctx: Ctx, projectId: number, userId: number, accessLevel: number): void {
  lookup(ctx.state.projects, projectId, 'project');
  lookup(ctx.state.users, userId, 'user');
  validLevel(accessLevel);
  const members = ctx.state.projectMembers.get(projectId) ?? new Map();
  members.set(userId, { accessLevel, createdAt: ctx.clock.now() });
  ctx.state.projectMembers.set(projectId, members);
}

function toEpoch(value: Date | number | string): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw new Error(`addToken: bad expiresAt ${value}`);
  return ms;
}

export const OAUTH_TOKEN_TTL_MS = 7200 * 1000;

export function addToken(ctx: Ctx, input: AddTokenInput): TokenRec {
  const { state } = ctx;
  lookup(state.users, input.userId, 'user');
  if (state.tokens.has(input.token)) throw new Error('addToken: token already exists');
  const kind = input.kind ?? 'personal';
  const now = ctx.clock.now();
  const expiresAt =
    input.expiresAt === undefined
      ? kind === 'oauth'
        ? now + OAUTH_TOKEN_TTL_MS
        : null
      : input.expiresAt === null
        ? null
        : toEpoch(input.expiresAt);
  const token: TokenRec = {
    id: nextId(state, 'token'),
    token: input.token,
    userId: input.userId,
    scopes: [...input.scopes],
    kind,
    name: input.name ?? `${kind} token`,
    createdAt: now,
    expiresAt,
    revoked: input.revoked ?? false,
    applicationId: null,
    refreshToken: null,
  };
  state.tokens.set(token.token, token);
  return token;
}

function accessRule(ctx: Ctx, input: AccessRuleInput, what: string): AccessRuleRec {
  const { state } = ctx;
  const targets = [input.userId, input.groupId, input.accessLevel].filter((v) => v !== undefined);
  if (targets.length !== 1) throw new Error(`${what}: give exactly one of userId, groupId, accessLevel`);
  if (input.userId !== undefined) lookup(state.users, input.userId, 'user');
  if (input.groupId !== undefined) lookup(state.groups, input.groupId, 'group');
  if (input.accessLevel !== undefined) validLevel(input.accessLevel);
  return {
    id: nextId(state, 'accessRule'),
    userId: input.userId ?? null,
    groupId: input.groupId ?? null,
    accessLevel: input.accessLevel ?? null,
    groupInheritanceType: input.groupInheritanceType ?? 0,
  };
}

export function protect(ctx: Ctx, container: Container, name: string, input: ProtectEnvironmentInput): ProtectedEnvRec {
  const { state } = ctx;
  const clash = [...state.protectedEnvs.values()].some(
    (pe) => JSON.stringify(pe.container) === JSON.stringify(container) && pe.name === name,
  );
  if (clash) throw new Error(`protect: ${name} is already protected there`);
  const id = nextId(state, 'protectedEnv');
  const approvalRules: ApprovalRuleRec[] = (input.approvalRules ?? []).map((rule) => {
    if (!Number.isInteger(rule.requiredApprovals) || rule.requiredApprovals < 1 || rule.requiredApprovals > 5) {
      throw new Error(`protect: requiredApprovals must be 1..5, got ${rule.requiredApprovals}`);
    }
    return {
      ...accessRule(ctx, rule, 'approval rule'),
      requiredApprovals: rule.requiredApprovals,
      protectedEnvironmentId: id,
    };
  });
  const deployAccessLevels = (input.deployAccessLevels ?? [{ accessLevel: ACCESS.maintainer }]).map((rule) =>
    accessRule(ctx, rule, 'deploy access level'),
  );
  const pe: ProtectedEnvRec = { id, container, name, deployAccessLevels, approvalRules };
  state.protectedEnvs.set(id, pe);
  return pe;
}

export function protectProjectEnvironment(
  ctx: Ctx,
  projectId: number,
  name: string,
  input: ProtectEnvironmentInput,
): ProtectedEnvRec {
  lookup(ctx.state.projects, projectId, 'project');
  return protect(ctx, { kind: 'project', projectId }, name, input);
}

export function protectGroupEnvironment(
  ctx: Ctx,
  groupId: number,
  tier: Tier,
  input: ProtectEnvironmentInput,
): ProtectedEnvRec {
  lookup(ctx.state.groups, groupId, 'group');
  if (!TIERS.includes(tier)) throw new Error(`protectGroupEnvironment: ${tier} is not a deployment tier`);
  return protect(ctx, { kind: 'group', groupId }, tier, input);
}

export function addHook(ctx: Ctx, input: AddHookInput): HookRec {
  const { state } = ctx;
  if ((input.projectId === undefined) === (input.groupId === undefined)) {
    throw new Error('addHook: give exactly one of projectId, groupId');
  }
  const container: Container =
    input.projectId !== undefined
      ? { kind: 'project', projectId: lookup(state.projects, input.projectId, 'project').id }
      : { kind: 'group', groupId: lookup(state.groups, input.groupId ?? -1, 'group').id };
  const hook: HookRec = {
    id: nextId(state, 'hook'),
    container,
    url: input.url,
    token: input.token ?? null,
    name: input.name ?? null,
    description: input.description ?? null,
    pushEvents: input.pushEvents ?? true,
    deploymentEvents: input.deploymentEvents ?? false,
    pipelineEvents: input.pipelineEvents ?? false,
    jobEvents: input.jobEvents ?? false,
    enableSslVerification: input.enableSslVerification ?? true,
    createdAt: ctx.clock.now(),
    recentFailures: 0,
    backoffCount: 0,
    disabledUntil: null,
    permanentlyDisabled: false,
  };
  state.hooks.set(hook.id, hook);
  return hook;
}

export function addOAuthApplication(ctx: Ctx, input: AddOAuthApplicationInput): OAuthAppRec {
  const { state } = ctx;
  if ([...state.oauthApps.values()].some((a) => a.clientId === input.clientId)) {
    throw new Error(`addOAuthApplication: ${input.clientId} exists`);
  }
  const app: OAuthAppRec = {
    id: nextId(state, 'oauthApp'),
    name: input.name ?? input.clientId,
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    redirectUris: Array.isArray(input.redirectUri) ? [...input.redirectUri] : [input.redirectUri],
    scopes: [...input.scopes],
    confidential: input.confidential ?? true,
  };
  state.oauthApps.set(app.id, app);
  return app;
}
