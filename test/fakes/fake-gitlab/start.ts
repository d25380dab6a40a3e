// Composition: state + clock + webhooks + HTTP server -> the FakeGitLab handle.
import { randomUUID } from 'node:crypto';
import { canReadDeployments, canReadProject } from './access.ts';
import * as build from './builders.ts';
import { addProjects } from './bulk.ts';
import { createClock } from './clock.ts';
import { FakeGitLabError, unwrap, type Ctx, type DomainEvent } from './context.ts';
import { APPROVAL_STATUSES, approveDeployment } from './domain/approvals.ts';
import * as jobs from './domain/jobs.ts';
import { createDeployment } from './domain/lifecycle.ts';
import { mergeMergeRequest, pushCommits } from './domain/repository.ts';
import { lookup } from './entities.ts';
import { startApp } from './http/app.ts';
import { createFaults } from './http/faults.ts';
import type { RecordedRequest } from './http/types.ts';
import { createState, nextId, type UserRec } from './model.ts';
import { authorize, revokeGrant } from './oauth.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { hookRoutes } from './routes/hooks.ts';
import { memberRoutes } from './routes/members.ts';
import { projectRoutes } from './routes/projects.ts';
import { repositoryRoutes } from './routes/repository.ts';
import { userRoutes } from './routes/users.ts';
import type { FakeGitLab, StartFakeGitLabOptions } from './types.ts';
import { deploymentView, jobView, type DeploymentView } from './views.ts';
import { createDispatcher } from './webhooks/dispatcher.ts';
import { publishEvent, type WebhookMode } from './webhooks/hub.ts';

const APPROVAL_ROUTE = 'POST /projects/:id/deployments/:deployment_id/approval';

export async function startFakeGitLab(opts: StartFakeGitLabOptions = {}): Promise<FakeGitLab> {
  const state = createState();
  const clock = createClock();
  const version = opts.version ?? '18.2.0-ee';
  let mode: WebhookMode = opts.webhookMode ?? 'modern';
  let baseUrl = '';
  let currentEventUuid: string | null = null;
  const autoRun = opts.autoRunPlayedJobs ?? true;

  const ctx: Ctx = {
    state,
    clock,
    version,
    licensePlan: opts.licensePlan === undefined ? 'ultimate' : opts.licensePlan,
    baseUrl: () => baseUrl,
    emit: (event: DomainEvent) => publishEvent(ctx, dispatcher, mode, event, currentEventUuid ?? randomUUID()),
  };
  const dispatcher = createDispatcher(ctx, { timeoutMs: opts.webhookTimeoutMs ?? 10_000 });

  /** Everything one request or fake action triggers shares one X-Gitlab-Event-UUID. */
  function asOneAction<T>(fn: () => T): T {
    if (currentEventUuid !== null) return fn();
    currentEventUuid = randomUUID();
    try {
      return fn();
    } finally {
      currentEventUuid = null;
    }
  }

  const faults = createFaults(clock);
  const requests: RecordedRequest[] = [];
  const routes = [
    ...userRoutes,
    ...projectRoutes({ autoRunPlayedJobs: () => autoRun }),
    ...deploymentRoutes,
    ...memberRoutes,
    ...hookRoutes,
    ...repositoryRoutes,
  ];
  const app = await startApp({ ctx, routes, faults, requests, asOneAction }, (url) => {
    baseUrl = url;
  });

  const view = (id: number): DeploymentView => {
    const found = deploymentView(ctx, id);
    if (!found) throw new Error(`fake GitLab: no deployment ${id}`);
    return found;
  };

  /** The UI shows a deployment only to people who can read it: the API's 404/403 otherwise. */
  function uiUser(projectId: number, userId: number): UserRec {
    const user = lookup(state.users, userId, 'user');
    const project = lookup(state.projects, projectId, 'project');
    if (!canReadProject(state, user, project)) throw new FakeGitLabError(404, { message: '404 Project Not Found' });
    if (!canReadDeployments(state, user, project)) throw new FakeGitLabError(403, { message: '403 Forbidden' });
    return user;
  }

  const fake: FakeGitLab = {
    url: app.url,
    version,
    close: async () => {
      dispatcher.close();
      await app.close();
    },

    addUser: (input) => ({ ...build.addUser(ctx, input) }),
    addGroup: (input) => ({ ...build.addGroup(ctx, input) }),
    addGroupMember: (groupId, userId, level) => build.addGroupMember(ctx, groupId, userId, level),
    addProject: (input) => ({ ...build.addProject(ctx, input) }),
    addProjects: (input) => addProjects(ctx, input).map((p) => ({ ...p })),
    updateProject: (projectId, patch) => {
      const project = lookup(state.projects, projectId, 'project');
      Object.assign(project, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)));
      return { ...project };
    },
    addProjectMember: (projectId, userId, level) => build.addProjectMember(ctx, projectId, userId, level),
    addToken: (input) => ({ ...build.addToken(ctx, input) }),
    revokeToken: (token) => {
      const found = state.tokens.get(token);
      if (!found) throw new Error('revokeToken: unknown token');
      found.revoked = true;
    },
    protectEnvironment: (projectId, name, input) =>
      structuredClone(build.protectProjectEnvironment(ctx, projectId, name, input)),
    protectGroupEnvironment: (groupId, tier, input) =>
      structuredClone(build.protectGroupEnvironment(ctx, groupId, tier, input)),
    createDeployment: (input) => view(asOneAction(() => createDeployment(ctx, input)).id),
    pushCommits: (projectId, input) => pushCommits(ctx, projectId, input).map((c) => ({ ...c })),
    mergeMergeRequest: (projectId, input) => ({ ...mergeMergeRequest(ctx, projectId, input) }),
    addFreezePeriod: (projectId, input) => {
      lookup(state.projects, projectId, 'project');
      const now = clock.now();
      const period = {
        id: nextId(state, 'freezePeriod'),
        projectId,
        freezeStart: input.freezeStart.trim(),
        freezeEnd: input.freezeEnd.trim(),
        cronTimezone: input.cronTimezone ?? 'UTC',
        createdAt: now,
        updatedAt: now,
      };
      state.freezePeriods.set(period.id, period);
      return { ...period };
    },

    approveInUi: (deploymentId, userId, status, comment = null, representedAs = null) =>
      asOneAction(() => {
        const deployment = lookup(state.deployments, deploymentId, 'deployment');
        const actor = uiUser(deployment.projectId, userId);
        if (!APPROVAL_STATUSES.includes(status))
          throw new FakeGitLabError(400, { error: 'status does not have a valid value' });
        const result = unwrap(approveDeployment(ctx, { deployment, actor, status, comment, representedAs }));
        return { ...result.approval };
      }),
    playJob: (jobId, userId) =>
      asOneAction(() => {
        const job = lookup(state.jobs, jobId, 'job');
        const played = unwrap(jobs.playJob(ctx, job, uiUser(job.projectId, userId)));
        if (autoRun) jobs.runJob(ctx, played);
        return jobView(played);
      }),
    runJob: (jobId) => asOneAction(() => jobView(jobs.runJob(ctx, lookup(state.jobs, jobId, 'job')))),
    finishJob: (jobId, result) =>
      asOneAction(() => jobView(jobs.finishJob(ctx, lookup(state.jobs, jobId, 'job'), result))),
    updatePipelineJob: (pipelineId, name, action) =>
      asOneAction(() => ({ ...jobs.updatePipelineJob(ctx, pipelineId, name, action) })),
    cancelDeployment: (deploymentId) =>
      asOneAction(() => view(jobs.cancelDeployment(ctx, lookup(state.deployments, deploymentId, 'deployment')).id)),

    addOAuthApplication: (input) => ({ ...build.addOAuthApplication(ctx, input) }),
    authorize: async (authorizeUrl, userId, authorizeOpts = {}) => {
      const user = lookup(state.users, userId, 'user');
      const query = Object.fromEntries(new URL(authorizeUrl, baseUrl).searchParams);
      const outcome = authorize(ctx, query, user, authorizeOpts.deny === true);
      if (outcome.kind === 'error') throw new FakeGitLabError(outcome.status, outcome.body);
      return outcome.location;
    },
    revokeGrant: (userId, clientId) => {
      revokeGrant(ctx, userId, clientId);
    },

    advanceClock: (ms) => clock.advance(ms),
    now: () => clock.now(),

    failNext: (spec) => faults.failNext(spec),
    setRateLimit: (spec) => faults.setRateLimit(spec),

    addHook: (input) => ({ ...build.addHook(ctx, input) }),
    getHook: (hookId) => {
      const hook = state.hooks.get(hookId);
      return hook ? { ...hook } : undefined;
    },
    enableHook: (hookId) => dispatcher.enableHook(hookId),
    deliveries: dispatcher.deliveries,
    webhooksIdle: () => dispatcher.idle(),
    redeliver: (index) => dispatcher.redeliver(index),
    holdWebhooks: () => dispatcher.hold(),
    releaseWebhooks: (releaseOpts) => dispatcher.release(releaseOpts),
    setWebhookMode: (next) => {
      mode = next;
    },
    get webhookMode() {
      return mode;
    },

    requests,
    approvalCalls: () => requests.filter((r) => r.route === APPROVAL_ROUTE),
    unexpectedRequests: () => requests.filter((r) => r.route === null),
    getDeployment: (deploymentId) => deploymentView(ctx, deploymentId),
    getJob: (jobId) => {
      const job = state.jobs.get(jobId);
      return job ? jobView(job) : undefined;
    },
  };
  return fake;
}
