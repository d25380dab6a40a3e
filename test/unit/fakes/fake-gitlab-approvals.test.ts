// The approval endpoint's §3 error table in its documented order, §4 semantics (rules, represented_as,
// repeats, rejection, play) and §8 group-level rules combining with project rules.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCESS,
  APPROVAL_MESSAGES,
  FakeGitLabError,
  startFakeGitLab,
  type FakeGitLab,
  type FakeGroup,
  type FakeProject,
  type FakeUser,
} from '../../fakes/fake-gitlab.ts';
import { call } from '../../fakes/fake-gitlab/client.ts';

let fake: FakeGitLab;
let acme: FakeGroup;
let qa: FakeGroup;
let project: FakeProject;
let users: Record<'creator' | 'qa1' | 'qa2' | 'maint' | 'dev' | 'reporter' | 'guest' | 'admin', FakeUser>;

/** POST the approval as `who` (token = username). */
function approve(
  who: string,
  deploymentId: number,
  body: Record<string, unknown>,
  projectRef: string | number = project.id,
) {
  return call(fake.url, 'POST', `/projects/${projectRef}/deployments/${deploymentId}/approval`, {
    token: who,
    json: body,
  });
}

const msg = (message: unknown) => ({ message });

beforeEach(async () => {
  fake = await startFakeGitLab();
  acme = fake.addGroup({ path: 'acme', name: 'Acme' });
  qa = fake.addGroup({ path: 'qa', name: 'qa-group', parentId: acme.id });
  project = fake.addProject({ pathWithNamespace: 'acme/web' });
  const add = (username: string, extra: { admin?: boolean } = {}) => {
    const user = fake.addUser({ username, ...extra });
    fake.addToken({ token: username, userId: user.id, scopes: ['api'] });
    return user;
  };
  users = {
    creator: add('creator'),
    qa1: add('qa1'),
    qa2: add('qa2'),
    maint: add('maint'),
    dev: add('dev'),
    reporter: add('reporter'),
    guest: add('guest'),
    admin: add('admin', { admin: true }),
  };
  fake.addProjectMember(project.id, users.creator.id, ACCESS.developer);
  fake.addProjectMember(project.id, users.dev.id, ACCESS.developer);
  fake.addProjectMember(project.id, users.qa1.id, ACCESS.developer);
  fake.addProjectMember(project.id, users.qa2.id, ACCESS.reporter);
  fake.addProjectMember(project.id, users.maint.id, ACCESS.maintainer);
  fake.addProjectMember(project.id, users.reporter.id, ACCESS.reporter);
  fake.addProjectMember(project.id, users.guest.id, ACCESS.guest);
  fake.addGroupMember(qa.id, users.qa1.id, ACCESS.developer);
  fake.addGroupMember(qa.id, users.qa2.id, ACCESS.developer);
  fake.protectEnvironment(project.id, 'production', {
    approvalRules: [
      { groupId: qa.id, requiredApprovals: 2 },
      { accessLevel: ACCESS.maintainer, requiredApprovals: 1 },
    ],
  });
});

afterEach(async () => {
  await fake.close();
});

const deployProduction = (userId = users.creator.id) =>
  fake.createDeployment({ projectId: project.id, environment: 'production', userId });

describe('blocked deployments', () => {
  it('blocks a job whose environment needs approval: job manual, deployment blocked, pending = sum of rules', () => {
    const d = deployProduction();
    expect(d).toMatchObject({
      status: 'blocked',
      pendingApprovalCount: 3,
      approvalStatus: 'pending_approval',
      job: { status: 'manual', when: 'manual' },
    });
    expect(d.pipeline.status).toBe('manual');
  });

  it('blocks a plain manual job with nothing pending, and runs an unprotected one', () => {
    const manual = fake.createDeployment({
      projectId: project.id,
      environment: 'staging',
      userId: users.dev.id,
      manual: true,
    });
    expect(manual).toMatchObject({ status: 'blocked', pendingApprovalCount: 0, job: { status: 'manual' } });
    const auto = fake.createDeployment({ projectId: project.id, environment: 'staging', userId: users.dev.id });
    expect(auto).toMatchObject({ status: 'running', job: { status: 'running' } });
  });
});

describe('approval endpoint: error table in order (§3)', () => {
  it('401 without a token', async () => {
    const d = deployProduction();
    expect(await approve('missing', d.id, { status: 'approved' })).toMatchObject({
      status: 401,
      body: msg('401 Unauthorized'),
    });
  });

  it('404 "Project Not Found" for an unknown or invisible project, before anything else', async () => {
    const d = deployProduction();
    const outsider = fake.addUser({ username: 'outsider' });
    fake.addToken({ token: 'outsider', userId: outsider.id, scopes: ['api'] });
    expect(await approve('qa1', d.id, {}, 999)).toMatchObject({ status: 404, body: msg('404 Project Not Found') });
    expect(await approve('outsider', d.id, {}, 'acme%2Fweb')).toMatchObject({
      status: 404,
      body: msg('404 Project Not Found'),
    });
  });

  it('403 for a Guest, before the deployment and status checks', async () => {
    expect(await approve('guest', 999, {})).toMatchObject({ status: 403, body: msg('403 Forbidden') });
  });

  it('404 "Not found" (lower-case) for a deployment of another project, before the status check', async () => {
    const other = fake.addProject({ pathWithNamespace: 'acme/other' });
    const d = fake.createDeployment({ projectId: other.id, environment: 'production', userId: users.admin.id });
    expect(await approve('qa1', d.id, {})).toMatchObject({ status: 404, body: msg('404 Not found') });
  });

  it('400 for a missing or invalid status', async () => {
    const d = deployProduction();
    expect(await approve('qa1', d.id, {})).toMatchObject({ status: 400, body: { error: 'status is missing' } });
    expect(await approve('qa1', d.id, { status: 'ok' })).toMatchObject({
      status: 400,
      body: { error: 'status does not have a valid value' },
    });
  });

  it('400 "not protected" before self-approval', async () => {
    const d = fake.createDeployment({
      projectId: project.id,
      environment: 'staging',
      userId: users.creator.id,
      manual: true,
    });
    expect(await approve('creator', d.id, { status: 'approved' })).toMatchObject({
      status: 400,
      body: msg(APPROVAL_MESSAGES.notProtected),
    });
  });

  it(
    '400 self-approval, checked before "not configured" ' + 'and "not waiting"; rejecting your own is allowed',
    async () => {
      fake.protectEnvironment(project.id, 'canary', { approvalRules: [] });
      const unconfigured = fake.createDeployment({
        projectId: project.id,
        environment: 'canary',
        userId: users.creator.id,
        manual: true,
      });
      expect(await approve('creator', unconfigured.id, { status: 'approved' })).toMatchObject({
        status: 400,
        body: msg(
          'You cannot approve your own deployment. This configuration ' +
            'can be adjusted in the protected environment settings.',
        ),
      });
      expect(await approve('maint', unconfigured.id, { status: 'approved' })).toMatchObject({
        status: 400,
        body: msg('Deployment approvals is not configured for this environment.'),
      });

      const d = deployProduction(users.maint.id);
      expect(await approve('maint', d.id, { status: 'approved' })).toMatchObject({
        status: 400,
        body: msg(APPROVAL_MESSAGES.selfApproval),
      });
      expect((await approve('maint', d.id, { status: 'rejected', comment: 'changed my mind' })).status).toBe(201);
      expect(fake.getDeployment(d.id)).toMatchObject({
        status: 'failed',
        job: { status: 'failed', failureReason: 'deployment_rejected' },
      });
    },
  );

  it('self-approval is allowed when the project setting says so', async () => {
    fake.updateProject(project.id, { allowPipelineTriggerApproveDeployment: true });
    const d = deployProduction(users.maint.id);
    expect((await approve('maint', d.id, { status: 'approved' })).status).toBe(201);
  });

  it('400 permission (not 403) when the user matches no rule', async () => {
    const d = deployProduction();
    expect(await approve('reporter', d.id, { status: 'approved' })).toMatchObject({
      status: 400,
      body: msg("You don't have permission to approve this deployment. Contact the project or group owner for help."),
    });
  });

  it('400 when represented_as matches none of the user rules', async () => {
    const d = deployProduction();
    expect(await approve('maint', d.id, { status: 'approved', represented_as: 'qa' })).toMatchObject({
      status: 400,
      body: msg(
        'There are no approval rules for the given `represent_as` parameter. Use a valid User/Group/Role name instead.',
      ),
    });
  });

  it('400 with an array message for a comment over 255 characters; 255 is fine', async () => {
    const d = deployProduction();
    expect(await approve('qa1', d.id, { status: 'approved', comment: 'x'.repeat(256) })).toMatchObject({
      status: 400,
      body: msg(['Comment is too long (maximum is 255 characters)']),
    });
    expect((await approve('qa1', d.id, { status: 'approved', comment: 'x'.repeat(255) })).status).toBe(201);
  });

  it('400 "not waiting" once nothing is pending, for approve and reject alike', async () => {
    const d = deployProduction();
    for (const who of ['qa1', 'qa2', 'maint'])
      expect((await approve(who, d.id, { status: 'approved' })).status).toBe(201);
    expect(fake.getDeployment(d.id)).toMatchObject({
      status: 'blocked',
      pendingApprovalCount: 0,
      approvalStatus: 'approved',
      job: { status: 'manual' },
    });
    expect(await approve('admin', d.id, { status: 'approved' })).toMatchObject({
      status: 400,
      body: msg(APPROVAL_MESSAGES.notWaiting),
    });
    expect(await approve('admin', d.id, { status: 'rejected' })).toMatchObject({
      status: 400,
      body: msg(APPROVAL_MESSAGES.notWaiting),
    });
    // The creator still hears the self-approval message: that check comes first.
    fake.addProjectMember(project.id, users.creator.id, ACCESS.maintainer);
    expect(await approve('creator', d.id, { status: 'approved' })).toMatchObject({
      status: 400,
      body: msg(APPROVAL_MESSAGES.selfApproval),
    });
  });

  it('accepts a form-encoded body', async () => {
    const d = deployProduction();
    const res = await call(fake.url, 'POST', `/projects/acme%2Fweb/deployments/${d.id}/approval`, {
      token: 'qa1',
      form: { status: 'approved', comment: 'via form' },
    });
    expect(res).toMatchObject({
      status: 201,
      body: { status: 'approved', comment: 'via form', user: { username: 'qa1' } },
    });
  });
});

describe('approval semantics (§4)', () => {
  it('returns 201 with the Approval entity and counts it for the first matching rule', async () => {
    const d = deployProduction();
    const res = await approve('qa1', d.id, { status: 'approved', comment: 'LGTM' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      user: {
        id: users.qa1.id,
        username: 'qa1',
        public_email: null,
        name: 'Qa1',
        state: 'active',
        locked: false,
        avatar_url: expect.stringMatching(/^https:\/\/www\.gravatar\.com\/avatar\//),
        web_url: `${fake.url}/qa1`,
      },
      status: 'approved',
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      comment: 'LGTM',
    });
    const single = await call(fake.url, 'GET', `/projects/${project.id}/deployments/${d.id}`, { token: 'qa1' });
    const body = single.body as {
      pending_approval_count: number;
      approvals: unknown[];
      approval_summary: { rules: Array<{ deployment_approvals: unknown[] }> };
    };
    expect(body.pending_approval_count).toBe(2);
    expect(body.approvals).toHaveLength(1);
    expect(body.approval_summary.rules.map((r) => r.deployment_approvals.length)).toEqual([1, 0]);
  });

  it('a repeat with the same status is a 2xx no-op (comment kept); a different status updates', async () => {
    const d = deployProduction();
    await approve('qa1', d.id, { status: 'approved', comment: 'first' });
    const again = await approve('qa1', d.id, { status: 'approved', comment: 'second '.repeat(50) });
    expect(again).toMatchObject({ status: 201, body: { comment: 'first' } });
    expect(fake.getDeployment(d.id)?.approvals).toHaveLength(1);
    const changed = await approve('qa1', d.id, { status: 'rejected', comment: 'found a bug' });
    expect(changed).toMatchObject({ status: 201, body: { status: 'rejected', comment: 'found a bug' } });
    expect(fake.getDeployment(d.id)).toMatchObject({ status: 'failed', approvals: [{ status: 'rejected' }] });
  });

  it('represented_as picks the first of the user rules whose name contains it (case-sensitive)', async () => {
    fake.addGroupMember(qa.id, users.maint.id, ACCESS.developer);
    const d = deployProduction();
    await approve('maint', d.id, { status: 'approved', represented_as: 'Maint' });
    expect(await approve('maint', d.id, { status: 'approved', represented_as: 'maint' })).toMatchObject({
      status: 400,
    });
    const view = fake.getDeployment(d.id);
    const single = await call(fake.url, 'GET', `/projects/${project.id}/deployments/${d.id}`, { token: 'maint' });
    const rules = (
      single.body as {
        approval_summary: { rules: Array<{ access_level_description: string; deployment_approvals: unknown[] }> };
      }
    ).approval_summary.rules;
    expect(rules.map((r) => [r.access_level_description, r.deployment_approvals.length])).toEqual([
      ['qa-group', 0],
      ['Maintainers', 1],
    ]);
    // Naming the group rule counts the second approval there.
    expect((await approve('maint', d.id, { status: 'approved', represented_as: 'qa' })).status).toBe(201);
    expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(view!.pendingApprovalCount - 1);
  });

  it('admins match every rule', async () => {
    const d = deployProduction();
    expect((await approve('admin', d.id, { status: 'approved' })).status).toBe(201);
    expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(2);
  });

  it('group rules: direct members only, or inherited members with group_inheritance_type 1', async () => {
    const parentMember = fake.addUser({ username: 'acme-lead' });
    fake.addToken({ token: 'acme-lead', userId: parentMember.id, scopes: ['api'] });
    fake.addGroupMember(acme.id, parentMember.id, ACCESS.developer);
    fake.protectEnvironment(project.id, 'direct', { approvalRules: [{ groupId: qa.id, requiredApprovals: 1 }] });
    fake.protectEnvironment(project.id, 'inherited', {
      approvalRules: [{ groupId: qa.id, requiredApprovals: 1, groupInheritanceType: 1 }],
    });
    const direct = fake.createDeployment({ projectId: project.id, environment: 'direct', userId: users.creator.id });
    const inherited = fake.createDeployment({
      projectId: project.id,
      environment: 'inherited',
      userId: users.creator.id,
    });
    expect((await approve('acme-lead', direct.id, { status: 'approved' })).body).toEqual(
      msg(APPROVAL_MESSAGES.noPermission),
    );
    expect((await approve('acme-lead', inherited.id, { status: 'approved' })).status).toBe(201);
  });

  it(
    'rejection fails the job (deployment_rejected, not playable); ' +
      'later approve is a no-op 2xx, a second reject is a 500',
    async () => {
      const d = deployProduction();
      expect((await approve('qa1', d.id, { status: 'rejected', comment: 'no' })).status).toBe(201);
      expect(fake.getDeployment(d.id)).toMatchObject({
        status: 'failed',
        pendingApprovalCount: 3,
        approvalStatus: 'rejected',
        job: { status: 'failed', failureReason: 'deployment_rejected' },
      });
      const job = await call(fake.url, 'GET', `/projects/${project.id}/jobs/${d.jobId}`, { token: 'maint' });
      expect(job.body).toMatchObject({ status: 'failed', failure_reason: 'deployment_rejected' });
      expect((await approve('qa2', d.id, { status: 'approved' })).status).toBe(201);
      expect(fake.getDeployment(d.id)).toMatchObject({ status: 'failed' });
      expect((await approve('maint', d.id, { status: 'rejected' })).status).toBe(500);
      const play = await call(fake.url, 'POST', `/projects/${project.id}/jobs/${d.jobId}/play`, { token: 'maint' });
      expect(play).toMatchObject({ status: 400, body: msg('400 Bad request - Unplayable Job') });
    },
  );

  it('approveInUi runs the same checks and throws the API error', () => {
    const d = deployProduction();
    expect(() => fake.approveInUi(d.id, users.reporter.id, 'approved')).toThrowError(FakeGitLabError);
    try {
      fake.approveInUi(d.id, users.creator.id, 'approved');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ status: 400, body: msg(APPROVAL_MESSAGES.selfApproval) });
    }
    expect(fake.approveInUi(d.id, users.qa1.id, 'approved', 'from the web UI')).toMatchObject({
      userId: users.qa1.id,
      status: 'approved',
      comment: 'from the web UI',
    });
    expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(2);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('play (§4)', () => {
  it('400 Unplayable Job while approvals are pending; 403 without deploy access; 200 then running', async () => {
    const d = deployProduction();
    const path = `/projects/${project.id}/jobs/${d.jobId}/play`;
    expect(await call(fake.url, 'POST', path, { token: 'maint' })).toMatchObject({
      status: 400,
      body: msg('400 Bad request - Unplayable Job'),
    });
    for (const who of ['qa1', 'qa2', 'maint']) await approve(who, d.id, { status: 'approved' });
    expect(await call(fake.url, 'POST', path, { token: 'dev' })).toMatchObject({
      status: 403,
      body: msg('403 Forbidden'),
    });
    const played = await call(fake.url, 'POST', path, { token: 'maint' });
    expect(played).toMatchObject({
      status: 200,
      body: { id: d.jobId, status: 'pending', user: { username: 'maint' } },
    });
    expect(fake.getDeployment(d.id)).toMatchObject({
      status: 'running',
      userId: users.creator.id,
      job: { status: 'running', userId: users.maint.id },
    });
    fake.finishJob(d.jobId, 'success');
    expect(fake.getDeployment(d.id)?.status).toBe('success');
  });

  it('custom deploy access levels decide who may play', async () => {
    fake.protectEnvironment(project.id, 'staging', { deployAccessLevels: [{ userId: users.dev.id }] });
    const d = fake.createDeployment({
      projectId: project.id,
      environment: 'staging',
      userId: users.creator.id,
      manual: true,
    });
    expect(
      (await call(fake.url, 'POST', `/projects/${project.id}/jobs/${d.jobId}/play`, { token: 'maint' })).status,
    ).toBe(403);
    expect(
      (await call(fake.url, 'POST', `/projects/${project.id}/jobs/${d.jobId}/play`, { token: 'dev' })).status,
    ).toBe(200);
  });

  it('with autoRunPlayedJobs off the job waits in pending until runJob', async () => {
    const slow = await startFakeGitLab({ autoRunPlayedJobs: false });
    try {
      const u = slow.addUser({ username: 'm' });
      const p = slow.addProject({ pathWithNamespace: 'm/app' });
      const d = slow.createDeployment({ projectId: p.id, environment: 'production', userId: u.id, manual: true });
      slow.playJob(d.jobId, u.id);
      expect(slow.getDeployment(d.id)).toMatchObject({ status: 'blocked', job: { status: 'pending' } });
      slow.runJob(d.jobId);
      expect(slow.getDeployment(d.id)).toMatchObject({ status: 'running' });
    } finally {
      await slow.close();
    }
  });
});

describe('group-level protected environments (§8)', () => {
  it(
    'combine with project rules: matched by tier on ancestor ' + 'groups, pending = sum, role rules use the group role',
    async () => {
      const releaseManager = fake.addUser({ username: 'rm', name: 'Release Manager' });
      fake.addToken({ token: 'rm', userId: releaseManager.id, scopes: ['api'] });
      fake.addGroupMember(acme.id, releaseManager.id, ACCESS.maintainer);
      fake.protectGroupEnvironment(acme.id, 'production', {
        approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
      });
      fake.protectGroupEnvironment(acme.id, 'staging', {
        approvalRules: [{ userId: releaseManager.id, requiredApprovals: 1 }],
      });

      // "prod-eu" guesses tier production: project rules do not apply (other name), the group's do.
      const eu = fake.createDeployment({ projectId: project.id, environment: 'prod-eu', userId: users.creator.id });
      expect(eu).toMatchObject({ tier: 'production', status: 'blocked', pendingApprovalCount: 1 });

      const d = deployProduction();
      expect(d.pendingApprovalCount).toBe(4);
      const single = await call(fake.url, 'GET', `/projects/${project.id}/deployments/${d.id}`, { token: 'rm' });
      const rules = (
        single.body as {
          approval_summary: { rules: Array<{ access_level_description: string; required_approvals: number }> };
        }
      ).approval_summary.rules;
      expect(rules.map((r) => [r.access_level_description, r.required_approvals])).toEqual([
        ['qa-group', 2],
        ['Maintainers', 1],
        ['Maintainers', 1],
      ]);

      // maint is a project Maintainer but not in the group: only the project-level role rule matches.
      await approve('maint', d.id, { status: 'approved' });
      expect(await approve('maint', d.id, { status: 'approved', represented_as: 'Maintainers' })).toMatchObject({
        status: 201,
      });
      expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(3);
      // rm is a group Maintainer: the project role rule also sees them as Maintainer (inherited), first match wins.
      await approve('rm', d.id, { status: 'approved' });
      expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(3);
      await approve('qa1', d.id, { status: 'approved' });
      await approve('qa2', d.id, { status: 'approved' });
      expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(1);

      // The tier, not the name, decides: an environment called "staging" with tier production gets the production
      // rules.
      const odd = fake.createDeployment({
        projectId: project.id,
        environment: 'staging',
        tier: 'production',
        userId: users.creator.id,
      });
      expect(odd.pendingApprovalCount).toBe(1);
    },
  );

  it('group rules on another group do not apply', () => {
    const other = fake.addGroup({ path: 'other' });
    fake.protectGroupEnvironment(other.id, 'staging', {
      approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
    });
    expect(fake.createDeployment({ projectId: project.id, environment: 'staging', userId: users.dev.id }).status).toBe(
      'running',
    );
  });
});
