import { Deployments, Environments, Projects, Users } from '@gitbeaker/rest';
import type { Approval, ApprovalRule, Deployment, GitLabUser } from '../../core/deployments/deployment.ts';
import type { DeploymentRef, GitLabReader, KnownEnvironment } from '../../core/ports.ts';
import { GreenlightError } from '../../core/errors.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import { mapGitLabError, observedRequester, singleAttemptRequester } from './client.ts';
import type { ApiObserver } from '../metrics/metrics.ts';
import type { GitLabGate } from './request-budget.ts';
import {
  AdminUserSchema,
  DeploymentListItemSchema,
  DeploymentSchema,
  EnvironmentSchema,
  ProjectSchema,
  type EnvironmentEntity,
  UserSchema,
  type DeploymentEntity,
  type ProjectEntity,
  type UserEntity,
} from './schema.ts';
import { z } from 'zod';

/** `observe` (optional) sees every request, for /metrics; `gate` (optional) is the tokens' shared request budget. */
export type GitLabConnection = {
  url: string;
  token: string;
  timeoutMs?: number;
  observe?: ApiObserver;
  gate?: GitLabGate;
};

/** How long GitLab has to answer one request. */
const DEFAULT_TIMEOUT_MS = 10_000;

export function gitbeakerOptions(
  conn: { url: string; timeoutMs?: number; observe?: ApiObserver; gate?: GitLabGate },
  auth: { token: string } | { oauthToken: string },
  sudo?: string | number,
) {
  return {
    host: conn.url,
    ...auth,
    ...(sudo !== undefined && { sudo }),
    requesterFn:
      conn.observe || conn.gate
        ? observedRequester(conn.observe, conn.gate, conn.timeoutMs ?? DEFAULT_TIMEOUT_MS)
        : singleAttemptRequester,
    queryTimeout: conn.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

/** How long an environment's tier is kept; what runs there (its last deployment) is re-read sooner. */
const ENVIRONMENT_TTL_MS = 10 * 60_000;

/** GitLab as greenlight's own token sees it; project and environment metadata are cached briefly. */
export type GitLabReaderAdapter = GitLabReader & {
  getProject(id: number | string): Promise<ProjectEntity>;
  /**
   * One environment (its tier, and its last successful deployment), read at most `maxAgeMs` ago: every read
   * of a deployment reads its environment's tier, so a summary of what runs there often costs no request.
   */
  environment(projectId: number, environmentId: number, maxAgeMs?: number): Promise<EnvironmentEntity>;
  /** The user's e-mail as this token may see it (private e-mail only for administrators). */
  userEmail(userId: number): Promise<string | null>;
};

/** One GitLab read, its errors mapped to GreenlightError and its answer checked against `schema`. */
export async function readParsed<T>(what: string, fn: () => Promise<unknown>, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await fn();
  } catch (error) {
    throw mapGitLabError(error, what);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GreenlightError(
      'invalid_input',
      `GitLab answered ${what} with an unexpected shape (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
      { retryable: false },
    );
  }
  return parsed.data;
}

/** Where project info is kept between processes (Redis, filled by the sweep's listings); see project-directory.ts. */
export type ProjectInfoStore = {
  info(projectId: number): Promise<{ id: number; path: string; name: string; webUrl: string; at: number } | null>;
  saveInfo(
    projects: ReadonlyArray<{ id: number; path: string; name: string; webUrl: string; at: number }>,
  ): Promise<void>;
};

/** Project info older than this is read from GitLab again (a project renamed or moved outside any listing). */
const PROJECT_INFO_MAX_AGE_MS = 86_400_000;

export function createGitLabReader(
  conn: GitLabConnection,
  extra: { projects?: ProjectInfoStore; now?: () => number } = {},
): GitLabReaderAdapter {
  const opts = gitbeakerOptions(conn, { token: conn.token });
  const deployments = new Deployments(opts);
  const projects = new Projects(opts);
  const environments = new Environments(opts);
  const users = new Users(opts);
  // In front of the store (or alone without one): projects read in the last minute, as many as cards in flight.
  const projectCache = new TtlCache<string, ProjectEntity>({ ttlMs: 60_000, max: 1_000 });
  const now = extra.now ?? (() => Date.now());
  const environmentCache = new TtlCache<string, { entity: EnvironmentEntity; readAt: number }>({
    ttlMs: ENVIRONMENT_TTL_MS,
    max: 20_000,
    now,
  });
  const environmentReads = new Map<string, Promise<EnvironmentEntity>>();

  const call = readParsed;

  async function loadProject(id: number | string): Promise<ProjectEntity> {
    const store = extra.projects;
    if (store && typeof id === 'number') {
      const kept = await store.info(id);
      if (kept && now() - kept.at < PROJECT_INFO_MAX_AGE_MS)
        return { id: kept.id, name: kept.name, path_with_namespace: kept.path, web_url: kept.webUrl };
    }
    const read = await call(`GET project ${id}`, () => projects.show(id), ProjectSchema);
    if (store)
      await store.saveInfo([
        { id: read.id, path: read.path_with_namespace, name: read.name, webUrl: read.web_url, at: now() },
      ]);
    return read;
  }

  async function getProject(id: number | string): Promise<ProjectEntity> {
    return projectCache.getOrLoad(String(id), () => loadProject(id));
  }

  async function environment(
    projectId: number,
    environmentId: number,
    maxAgeMs = ENVIRONMENT_TTL_MS,
  ): Promise<EnvironmentEntity> {
    const key = `${projectId}:${environmentId}`;
    const cached = environmentCache.get(key);
    if (cached && now() - cached.readAt <= maxAgeMs) return cached.entity;
    const pending = environmentReads.get(key);
    if (pending) return pending;
    const read = call(
      `GET environment ${environmentId}`,
      () => environments.show(projectId, environmentId),
      EnvironmentSchema,
    )
      .then((entity) => {
        environmentCache.set(key, { entity, readAt: now() });
        return entity;
      })
      .finally(() => environmentReads.delete(key));
    environmentReads.set(key, read);
    return read;
  }

  async function environmentTier(projectId: number, environmentId: number): Promise<string | null> {
    return (await environment(projectId, environmentId)).tier ?? null;
  }

  return {
    getProject,
    environment,
    async getDeployment(ref: DeploymentRef, known?: { environment: KnownEnvironment }): Promise<Deployment | null> {
      let entity: DeploymentEntity;
      try {
        entity = await call(
          `GET deployment ${ref.deploymentId}`,
          () => deployments.show(ref.projectId, ref.deploymentId),
          DeploymentSchema,
        );
      } catch (error) {
        if ((error as { code?: string }).code === 'gitlab_not_found') return null;
        throw error;
      }
      const kept = known?.environment.id === entity.environment.id ? known.environment : null;
      const [project, tier] = await Promise.all([
        getProject(ref.projectId),
        kept ? kept.tier : environmentTier(ref.projectId, entity.environment.id).catch(() => null),
      ]);
      return toDeployment(entity, project, tier);
    },
    async listBlockedDeployments(projectRef, filter = {}) {
      // An id is all the listing needs (a path is resolved once: the deployments carry no project id)
      const projectId = typeof projectRef === 'number' ? projectRef : (await getProject(projectRef)).id;
      const items = await call(
        `GET blocked deployments of project ${projectId}`,
        () =>
          deployments.all(projectId, {
            status: 'blocked',
            ...(filter.environment !== undefined && { environment: filter.environment }),
            perPage: 100,
            maxPages: 50,
            orderBy: 'id',
            sort: 'desc',
          } as never),
        z.array(DeploymentListItemSchema),
      );
      return items
        .filter((d) => d.status === 'blocked')
        .map((d) => ({ id: d.id, projectId, environment: d.environment.name }));
    },
    async findDeployment(projectId, hint) {
      if (hint.environment === '') return null;
      // The hook is about a recent deployment: the newest 100 of its environment are enough.
      const items = await call(
        `GET deployments of environment ${hint.environment}`,
        () =>
          deployments.all(projectId, {
            environment: hint.environment,
            perPage: 100,
            maxPages: 1,
            orderBy: 'id',
            sort: 'desc',
          } as never),
        z.array(DeploymentListItemSchema),
      );
      const found =
        hint.deployableId !== null
          ? items.find((d) => d.deployable?.id === hint.deployableId)
          : hint.shortSha
            ? items.find((d) => !d.deployable && d.sha?.startsWith(hint.shortSha!))
            : undefined;
      return found?.id ?? null;
    },
    async userEmail(userId) {
      const user = await call(`GET user ${userId}`, () => users.show(userId), AdminUserSchema);
      return user.email ?? user.public_email ?? null;
    },
    async findUserByUsername(username) {
      const found = await call(`GET user ${username}`, () => users.all({ username } as never), z.array(UserSchema));
      const user = found.find((u) => u.username.toLowerCase() === username.toLowerCase());
      return user ? toUser(user) : null;
    },
    async findUserByEmail(email) {
      const found = await call(
        'GET users by e-mail',
        () => users.all({ search: email } as never),
        z.array(AdminUserSchema),
      );
      const wanted = email.trim().toLowerCase();
      const user = found.find(
        (u) => u.state !== 'blocked' && [u.email, u.public_email].some((e) => e?.toLowerCase() === wanted),
      );
      return user ? toUser(user) : null;
    },
  };
}

export function toUser(u: UserEntity): GitLabUser {
  return { id: u.id, username: u.username, name: u.name ?? u.username };
}

function toApproval(a: DeploymentEntity['approvals'][number]): Approval {
  return { user: toUser(a.user), status: a.status, comment: a.comment ?? null, createdAt: a.created_at };
}

export function toDeployment(e: DeploymentEntity, project: ProjectEntity, tier: string | null): Deployment {
  const rules: ApprovalRule[] = (e.approval_summary?.rules ?? []).map((r) => ({
    id: r.id ?? null,
    userId: r.user_id ?? null,
    groupId: r.group_id ?? null,
    accessLevel: r.access_level ?? null,
    name: r.access_level_description ?? 'Approvers',
    required: r.required_approvals,
    groupInheritanceType: r.group_inheritance_type ?? null,
    approvals: r.deployment_approvals.map(toApproval),
  }));
  const job = e.deployable ?? null;
  return {
    id: e.id,
    iid: e.iid,
    project: { id: project.id, path: project.path_with_namespace, name: project.name, webUrl: project.web_url },
    environment: {
      id: e.environment.id,
      name: e.environment.name,
      tier,
      externalUrl: e.environment.external_url ?? null,
      webUrl: `${project.web_url}/-/environments/${e.environment.id}`,
    },
    ref: e.ref,
    sha: e.sha,
    commit: {
      title: job?.commit?.title ?? null,
      webUrl: job?.commit?.web_url ?? `${project.web_url}/-/commit/${e.sha}`,
      authorEmail: job?.commit?.author_email ?? null,
    },
    status: e.status,
    createdAt: e.created_at,
    updatedAt: e.updated_at ?? e.created_at,
    creator: e.user ? toUser(e.user) : null,
    job: job
      ? {
          id: job.id,
          name: job.name ?? 'deploy',
          status: job.status,
          webUrl: job.web_url ?? null,
          failureReason: job.failure_reason ?? null,
          user: job.user ? toUser(job.user) : null,
        }
      : null,
    pipeline: job?.pipeline
      ? { id: job.pipeline.id, webUrl: job.pipeline.web_url ?? null, updatedAt: job.pipeline.updated_at ?? null }
      : null,
    pendingApprovalCount: e.pending_approval_count,
    approvals: e.approvals.map(toApproval),
    rules,
  };
}
