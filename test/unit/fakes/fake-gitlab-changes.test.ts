// The fake GitLab's reads of what a deployment changes: commit ranges (no x-total headers), merged merge
// requests, freeze periods, a pipeline's jobs and status, an environment's last successful deployment.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS, startFakeGitLab, type FakeGitLab, type FakeProject, type FakeUser } from '../../fakes/fake-gitlab.ts';
import { call } from '../../fakes/fake-gitlab/client.ts';

let fake: FakeGitLab;
let alice: FakeUser;
let bob: FakeUser;
let project: FakeProject;
const get = (path: string) => call(fake.url, 'GET', path, { token: 'bob-read' });
type Row = Record<string, unknown>;

beforeEach(async () => {
  fake = await startFakeGitLab();
  alice = fake.addUser({ username: 'alice', name: 'Alice Liddell', email: 'alice@corp.example' });
  bob = fake.addUser({ username: 'bob', name: 'Bob Builder' });
  project = fake.addProject({ pathWithNamespace: 'acme/web' });
  fake.addProjectMember(project.id, bob.id, ACCESS.reporter);
  fake.addProjectMember(project.id, alice.id, ACCESS.maintainer);
  fake.addToken({ token: 'bob-read', userId: bob.id, scopes: ['read_api'] });
});
afterEach(async () => {
  await fake.close();
});

describe('repository commits', () => {
  it('lists a revision range newest first, with parent_ids, and says only whether another page exists', async () => {
    const [base] = fake.pushCommits(project.id, { commits: [{ title: 'Base' }] });
    const mr = fake.mergeMergeRequest(project.id, {
      title: 'Add login',
      authorId: alice.id,
      commits: [{ title: 'Login form' }, { title: 'Login API' }],
    });
    const res = await get(`/projects/${project.id}/repository/commits?ref_name=${base!.sha}..main&per_page=2`);
    expect(res.status).toBe(200);
    const rows = res.body as Row[];
    expect(rows.map((c) => c.title)).toEqual(["Merge branch 'feature-1' into 'main'", 'Login API']);
    expect(rows[0]).toMatchObject({ id: mr.mergeCommitSha, parent_ids: [base!.sha, mr.sha] });
    expect(String(rows[0]!.message)).toContain('See merge request acme/web!1');
    expect(rows[1]).toMatchObject({ author_name: 'Alice Liddell', author_email: 'alice@corp.example' });
    expect(res.headers.get('x-next-page')).toBe('2');
    expect(res.headers.get('x-total')).toBeNull();
    expect(res.headers.get('x-total-pages')).toBeNull();
    expect(res.headers.get('link')).not.toContain('rel="last"');
    const rest = await get(`/projects/${project.id}/repository/commits?ref_name=${base!.sha}..main&per_page=2&page=2`);
    expect((rest.body as Row[]).map((c) => c.title)).toEqual(['Login form']);
    expect(rest.headers.get('x-next-page')).toBe('');
  });

  it('lists nothing for a range that goes back, and for an unknown ref', async () => {
    const [a, b] = fake.pushCommits(project.id, { commits: [{ title: 'A' }, { title: 'B' }] });
    expect((await get(`/projects/${project.id}/repository/commits?ref_name=${b!.sha}..${a!.sha}`)).body).toEqual([]);
    const back = await get(`/projects/${project.id}/repository/commits?ref_name=${a!.sha}..${b!.sha}`);
    expect((back.body as Row[]).map((c) => c.title)).toEqual(['B']);
    expect((await get(`/projects/${project.id}/repository/commits?ref_name=nope..main`)).body).toEqual([]);
  });

  it('deployments without a sha put a commit on their ref, so that they form a history', async () => {
    const first = fake.createDeployment({ projectId: project.id, environment: 'dev', userId: bob.id });
    const second = fake.createDeployment({ projectId: project.id, environment: 'dev', userId: bob.id });
    const res = await get(`/projects/${project.id}/repository/commits?ref_name=${first.sha}..${second.sha}`);
    expect((res.body as Row[]).map((c) => c.id)).toEqual([second.sha]);
  });
});

describe('merge requests, freeze periods, pipeline jobs', () => {
  it('lists merged merge requests of a target branch updated after a time, with the shas to match', async () => {
    fake.pushCommits(project.id, { commits: [{ title: 'Base' }] });
    const before = new Date(fake.now()).toISOString();
    fake.advanceClock(60_000);
    const squashed = fake.mergeMergeRequest(project.id, { title: 'Squashed', authorId: alice.id, method: 'squash' });
    fake.mergeMergeRequest(project.id, { title: 'Elsewhere', authorId: alice.id, targetBranch: 'release' });
    const res = await get(
      `/projects/${project.id}/merge_requests?state=merged&target_branch=main&updated_after=${before}&per_page=100`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      expect.objectContaining({
        iid: squashed.iid,
        title: 'Squashed',
        state: 'merged',
        target_branch: 'main',
        sha: squashed.sha,
        merge_commit_sha: null,
        squash_commit_sha: squashed.squashCommitSha,
        author: expect.objectContaining({ username: 'alice', name: 'Alice Liddell' }),
        web_url: `${fake.url}/acme/web/-/merge_requests/${squashed.iid}`,
      }),
    ]);
    const later = new Date(fake.now() + 1000).toISOString();
    expect((await get(`/projects/${project.id}/merge_requests?state=merged&updated_after=${later}`)).body).toEqual([]);
  });

  it('lists freeze periods with their cron fields and time zone (the docs example)', async () => {
    fake.addFreezePeriod(project.id, { freezeStart: '0 23 * * 5', freezeEnd: '0 8 * * 1' });
    const res = await get(`/projects/${project.id}/freeze_periods`);
    expect(res.body).toEqual([
      {
        id: 1,
        freeze_start: '0 23 * * 5',
        freeze_end: '0 8 * * 1',
        cron_timezone: 'UTC',
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
  });

  it("lists a pipeline's jobs, and the pipeline's status follows all of them (manual outranks failed)", async () => {
    fake.protectEnvironment(project.id, 'production', { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
    const d = fake.createDeployment({
      projectId: project.id,
      environment: 'production',
      userId: bob.id,
      pipelineJobs: [
        { name: 'lint', status: 'success' },
        { name: 'unit', status: 'failed' },
        { name: 'flaky', status: 'failed', allowFailure: true },
      ],
    });
    expect(d.pipeline.status).toBe('manual');
    const res = await get(`/projects/${project.id}/pipelines/${d.pipelineId}/jobs?per_page=100`);
    const rows = res.body as Row[];
    expect(rows.map((j) => [j.name, j.status, j.allow_failure])).toEqual([
      [d.job.name, 'manual', false],
      ['flaky', 'failed', true],
      ['unit', 'failed', false],
      ['lint', 'success', false],
    ]);
    expect(rows[1]).toMatchObject({ failure_reason: 'script_failure', pipeline: { id: d.pipelineId } });
    const failed = await get(`/projects/${project.id}/pipelines/${d.pipelineId}/jobs?scope[]=failed`);
    expect((failed.body as Row[]).map((j) => j.name)).toEqual(['flaky', 'unit']);
    expect((await get(`/projects/${project.id}/pipelines/999/jobs`)).body).toEqual({
      message: '404 Pipeline Not Found',
    });
  });

  it('retries a failed job as GitLab does: listed in its place, no new deployment, the pipeline moves', async () => {
    fake.protectEnvironment(project.id, 'production', { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
    const d = fake.createDeployment({
      projectId: project.id,
      environment: 'production',
      userId: bob.id,
      pipelineJobs: [
        { name: 'lint', status: 'success' },
        { name: 'unit', status: 'failed' },
      ],
    });
    const pipelineOf = async () =>
      ((await get(`/projects/${project.id}/deployments/${d.id}`)).body as { deployable: { pipeline: Row } }).deployable
        .pipeline;
    const before = await pipelineOf();
    expect(before).toMatchObject({ id: d.pipelineId, status: 'manual' });
    fake.advanceClock(60_000);
    const retried = fake.updatePipelineJob(d.pipelineId, 'unit', 'retry');
    const jobs = async () =>
      ((await get(`/projects/${project.id}/pipelines/${d.pipelineId}/jobs`)).body as Row[]).map((j) => [
        j.name,
        j.status,
      ]);
    expect(await jobs()).toEqual([
      ['unit', 'pending'],
      [d.job.name, 'manual'],
      ['lint', 'success'],
    ]);
    const running = await pipelineOf();
    expect(running.status).toBe('running');
    // the fake's clock is real time plus what the test moved it by
    expect(Date.parse(String(running.updated_at))).toBeGreaterThanOrEqual(
      Date.parse(String(before.updated_at)) + 60_000,
    );
    fake.advanceClock(60_000);
    expect(fake.updatePipelineJob(d.pipelineId, 'unit', 'success').id).toBe(retried.id);
    const passed = await pipelineOf();
    expect(passed.status).toBe('manual');
    expect(Date.parse(String(passed.updated_at))).toBeGreaterThanOrEqual(
      Date.parse(String(running.updated_at)) + 60_000,
    );
    expect(fake.getDeployment(d.id)!.status).toBe('blocked');
    expect(() => fake.updatePipelineJob(d.pipelineId, 'e2e', 'retry')).toThrow(/no job e2e/);
  });

  it("shows an environment's last successful deployment (without its environment), null before the first", async () => {
    const first = fake.createDeployment({ projectId: project.id, environment: 'staging', userId: bob.id });
    const env = `/projects/${project.id}/environments/${first.environmentId}`;
    expect((await get(env)).body).toMatchObject({ name: 'staging', tier: 'staging', last_deployment: null });
    fake.finishJob(first.jobId, 'success');
    fake.createDeployment({ projectId: project.id, environment: 'staging', userId: bob.id });
    const body = (await get(env)).body as { last_deployment: Row };
    expect(body.last_deployment).toMatchObject({ id: first.id, sha: first.sha, status: 'success' });
    expect(body.last_deployment.environment).toBeUndefined();
    expect(body.last_deployment.deployable).toMatchObject({ commit: { id: first.sha } });
  });

  it('refuses finished_at ordering without a finished filter or status, as DeploymentsFinder does', async () => {
    const res = await get(`/projects/${project.id}/deployments?order_by=finished_at&sort=desc`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      message:
        '400 Bad request - `finished_at` sort requires `finished_at` filter or a filter with at least one of the ' +
        'finished statuses.',
    });
    const ok = await get(`/projects/${project.id}/deployments?order_by=finished_at&sort=desc&status=success`);
    expect(ok.status).toBe(200);
  });
});
