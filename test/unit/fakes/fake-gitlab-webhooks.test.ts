// Webhooks (§1, §2, §9): headers, payloads in legacy and modern mode, pipeline/job hooks, no re-delivery,
// auto-disable after 4 failures, timeouts, resend with the same Idempotency-Key, hold/release reordering.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCESS,
  startFakeGitLab,
  type FakeGitLab,
  type FakeProject,
  type FakeUser,
  type WebhookMode,
} from '../../fakes/fake-gitlab.ts';
import { call } from '../../fakes/fake-gitlab/client.ts';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../fakes/fake-gitlab/receiver.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RUBY_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let fake: FakeGitLab;
let receiver: WebhookReceiver;
let project: FakeProject;
let creator: FakeUser;
let approver: FakeUser;

async function setup(mode: WebhookMode, extra: { webhookTimeoutMs?: number } = {}): Promise<void> {
  fake = await startFakeGitLab({ webhookMode: mode, ...extra });
  creator = fake.addUser({ username: 'creator', name: 'Cree Ator' });
  approver = fake.addUser({ username: 'ops_lead', name: 'Ops Lead', publicEmail: 'ops@example.com' });
  project = fake.addProject({ pathWithNamespace: 'acme/web' });
  fake.addProjectMember(project.id, creator.id, ACCESS.developer);
  fake.addProjectMember(project.id, approver.id, ACCESS.maintainer);
  fake.protectEnvironment(project.id, 'production', {
    approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
  });
  fake.addHook({
    projectId: project.id,
    url: receiver.url,
    token: 'hook-secret',
    deploymentEvents: true,
    pipelineEvents: true,
    jobEvents: true,
  });
}

const summary = (hooks: ReceivedWebhook[]): string[] =>
  hooks.map((h) => {
    const b = h.body;
    if (b.object_kind === 'deployment') return `deployment:${String(b.status)}`;
    if (b.object_kind === 'build') return `job:${String(b.build_status)}`;
    return `pipeline:${String((b.object_attributes as { status: string }).status)}`;
  });

const deployProduction = () =>
  fake.createDeployment({
    projectId: project.id,
    environment: 'production',
    userId: creator.id,
    commitTitle: 'Add new file',
  });

beforeEach(async () => {
  receiver = await startWebhookReceiver();
});

afterEach(async () => {
  await fake.close();
  await receiver.close();
});

describe('modern mode (19.3+)', () => {
  beforeEach(async () => setup('modern'));

  it(
    'announces a blocked deployment: job created, deployment ' + 'blocked, pipeline manual; with the §1.3 headers',
    async () => {
      const d = deployProduction();
      await fake.webhooksIdle();
      expect(summary(receiver.received)).toEqual(['job:created', 'deployment:blocked', 'pipeline:manual']);
      const [job, deployment, pipeline] = receiver.received as [ReceivedWebhook, ReceivedWebhook, ReceivedWebhook];
      expect(deployment.headers).toMatchObject({
        'content-type': 'application/json',
        'user-agent': 'GitLab/18.2.0-ee',
        'x-gitlab-event': 'Deployment Hook',
        'x-gitlab-token': 'hook-secret',
        'x-gitlab-instance': fake.url,
        'x-gitlab-webhook-uuid': expect.stringMatching(UUID),
        'x-gitlab-event-uuid': expect.stringMatching(UUID),
        'idempotency-key': expect.stringMatching(UUID),
      });
      expect(job.headers['x-gitlab-event']).toBe('Job Hook');
      expect(pipeline.headers['x-gitlab-event']).toBe('Pipeline Hook');
      // One action -> one Event-UUID; every delivery has its own Idempotency-Key and Webhook-UUID.
      expect(new Set(receiver.received.map((h) => h.headers['x-gitlab-event-uuid'])).size).toBe(1);
      expect(new Set(receiver.received.map((h) => h.headers['idempotency-key'])).size).toBe(3);

      expect(deployment.body).toEqual({
        object_kind: 'deployment',
        status: 'blocked',
        status_changed_at: expect.stringMatching(RUBY_TIME),
        deployment_id: d.id,
        deployable_id: d.jobId,
        deployable_url: `${fake.url}/acme/web/-/jobs/${d.jobId}`,
        environment: 'production',
        environment_tier: 'production',
        environment_slug: 'production',
        environment_external_url: null,
        project: {
          id: project.id,
          name: 'web',
          description: '',
          web_url: `${fake.url}/acme/web`,
          avatar_url: null,
          git_ssh_url: expect.stringMatching(/acme\/web\.git$/),
          git_http_url: `${fake.url}/acme/web.git`,
          namespace: 'acme',
          visibility_level: 0,
          path_with_namespace: 'acme/web',
          default_branch: 'main',
          ci_config_path: '',
          homepage: `${fake.url}/acme/web`,
          url: expect.stringMatching(/acme\/web\.git$/),
          ssh_url: expect.stringMatching(/acme\/web\.git$/),
          http_url: `${fake.url}/acme/web.git`,
        },
        short_sha: d.sha.slice(0, 8),
        user: {
          id: creator.id,
          name: 'Cree Ator',
          username: 'creator',
          avatar_url: expect.any(String),
          email: '[REDACTED]',
        },
        user_url: `${fake.url}/creator`,
        commit_url: `${fake.url}/acme/web/-/commit/${d.sha}`,
        commit_title: 'Add new file',
        ref: 'main',
      });
      expect(pipeline.body).toMatchObject({
        object_kind: 'pipeline',
        object_attributes: {
          id: d.pipelineId,
          status: 'manual',
          detailed_status: 'waiting for manual action',
          ref: 'main',
        },
        builds: [
          {
            id: d.jobId,
            status: 'manual',
            when: 'manual',
            manual: true,
            environment: { name: 'production', action: 'start', deployment_tier: 'production' },
          },
        ],
      });
      expect(job.body).toMatchObject({
        object_kind: 'build',
        build_id: d.jobId,
        build_status: 'created',
        build_failure_reason: null,
        environment: { name: 'production', action: 'start', deployment_tier: 'production' },
      });
    },
  );

  it('sends approved with approver and approval (ISO time); the public email shows', async () => {
    const d = deployProduction();
    fake.approveInUi(d.id, approver.id, 'approved', 'LGTM');
    await fake.webhooksIdle();
    const approved = receiver.received.find((h) => h.body.status === 'approved');
    expect(approved?.body).toMatchObject({
      status: 'approved',
      status_changed_at: expect.stringMatching(ISO_TIME),
      deployment_id: d.id,
      user: { username: 'creator', email: '[REDACTED]' },
      approver: {
        id: approver.id,
        name: 'Ops Lead',
        username: 'ops_lead',
        email: 'ops@example.com',
        avatar_url: expect.any(String),
      },
      approval: {
        id: expect.any(Number),
        status: 'approved',
        comment: 'LGTM',
        created_at: expect.stringMatching(ISO_TIME),
        approval_rule: {
          id: expect.any(Number),
          user_id: null,
          group_id: null,
          access_level: 40,
          access_level_description: 'Maintainers',
          required_approvals: 1,
          group_inheritance_type: 0,
        },
      },
    });
  });

  it('sends rejected, then the failed lifecycle event, with the job failing as deployment_rejected', async () => {
    const d = deployProduction();
    fake.approveInUi(d.id, approver.id, 'rejected', 'not today');
    await fake.webhooksIdle();
    expect(summary(receiver.received).slice(3)).toEqual([
      'deployment:rejected',
      'job:failed',
      'deployment:failed',
      'pipeline:failed',
    ]);
    const job = receiver.received.find((h) => h.body.build_status === 'failed');
    expect(job?.body).toMatchObject({ build_failure_reason: 'deployment_rejected' });
    const failed = receiver.received.find((h) => h.body.status === 'failed');
    expect(failed?.body.status_changed_at).toMatch(RUBY_TIME);
  });

  it('after play the deployment events name the player as user; running and success follow', async () => {
    const d = deployProduction();
    fake.approveInUi(d.id, approver.id, 'approved');
    fake.playJob(d.jobId, approver.id);
    fake.finishJob(d.jobId, 'success');
    await fake.webhooksIdle();
    expect(summary(receiver.received)).toEqual([
      'job:created',
      'deployment:blocked',
      'pipeline:manual',
      'deployment:approved',
      'job:pending',
      'pipeline:pending',
      'job:running',
      'deployment:running',
      'pipeline:running',
      'job:success',
      'deployment:success',
      'pipeline:success',
    ]);
    const running = receiver.received.find((h) => h.body.status === 'running');
    expect(running?.body.user).toMatchObject({ username: 'ops_lead', email: 'ops@example.com' });
  });

  it('blocks a plain manual job too (no approval fields), and never re-sends blocked after approvals', async () => {
    fake.createDeployment({ projectId: project.id, environment: 'review/app', userId: creator.id, manual: true });
    await fake.webhooksIdle();
    const blocked = receiver.received.filter((h) => h.body.status === 'blocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]?.body).not.toHaveProperty('approval');
    expect(blocked[0]?.body).not.toHaveProperty('approver');
  });
});

describe('legacy mode (< 19.3)', () => {
  beforeEach(async () => setup('legacy'));

  it('sends no deployment hook for blocked, approved or rejected; the pipeline hook says manual', async () => {
    const d = deployProduction();
    fake.approveInUi(d.id, approver.id, 'rejected');
    await fake.webhooksIdle();
    expect(summary(receiver.received)).toEqual([
      'job:created',
      'pipeline:manual',
      'job:failed',
      'deployment:failed',
      'pipeline:failed',
    ]);
  });

  it('sends running and success for an unprotected deployment', async () => {
    const d = fake.createDeployment({ projectId: project.id, environment: 'staging', userId: creator.id });
    fake.finishJob(d.jobId, 'success');
    await fake.webhooksIdle();
    expect(summary(receiver.received)).toEqual([
      'job:created',
      'job:pending',
      'pipeline:pending',
      'job:running',
      'deployment:running',
      'pipeline:running',
      'job:success',
      'deployment:success',
      'pipeline:success',
    ]);
  });

  it('can switch mode at runtime', async () => {
    fake.setWebhookMode('modern');
    expect(fake.webhookMode).toBe('modern');
    deployProduction();
    await fake.webhooksIdle();
    expect(summary(receiver.received)).toContain('deployment:blocked');
  });
});

describe('delivery rules (§1.4)', () => {
  it('sends only the events a hook subscribed to, and group hooks get events of projects below', async () => {
    await setup('modern');
    const groupReceiver = await startWebhookReceiver();
    try {
      fake.addHook({ groupId: project.groupId!, url: groupReceiver.url, deploymentEvents: true });
      deployProduction();
      await fake.webhooksIdle();
      expect(summary(groupReceiver.received)).toEqual(['deployment:blocked']);
      expect(groupReceiver.received[0]?.headers).not.toHaveProperty('x-gitlab-token');
    } finally {
      await groupReceiver.close();
    }
  });

  it('never re-sends after an error; 3xx counts as success', async () => {
    await setup('modern');
    receiver.reply({ status: 500 });
    deployProduction();
    await fake.webhooksIdle();
    expect(receiver.received).toHaveLength(3);
    expect(fake.deliveries.map((d) => [d.state, d.status])).toEqual([
      ['failed', 500],
      ['failed', 500],
      ['failed', 500],
    ]);
    receiver.reply({ status: 302 });
    fake.cancelDeployment(fake.deliveries[1]!.payload.deployment_id as number);
    await fake.webhooksIdle();
    expect(receiver.received).toHaveLength(6);
    expect(fake.getHook(1)).toMatchObject({ recentFailures: 0 });
  });

  it(
    'disables a hook after 4 failures in a row, drops events ' +
      'meanwhile, and re-enables after the backoff or enableHook',
    async () => {
      await setup('modern');
      receiver.reply({ status: 503 });
      deployProduction(); // 3 deliveries
      // 3 more
      fake.createDeployment({ projectId: project.id, environment: 'staging', userId: creator.id, manual: true });
      await fake.webhooksIdle();
      expect(receiver.received).toHaveLength(4);
      expect(fake.deliveries.map((d) => d.state)).toEqual([
        'failed',
        'failed',
        'failed',
        'failed',
        'dropped',
        'dropped',
      ]);
      expect(fake.deliveries[4]?.error).toBe('hook temporarily disabled');
      const root = fake.addUser({ username: 'root', admin: true });
      fake.addToken({ token: 'root', userId: root.id, scopes: ['api'] });
      const viaApi = await call(fake.url, 'GET', `/projects/${project.id}/hooks/1`, { token: 'root' });
      expect(viaApi.body).toMatchObject({
        alert_status: 'temporarily_disabled',
        disabled_until: expect.stringMatching(ISO_TIME),
      });

      // After the 1-minute backoff the hook is tried again; one more failure disables it again (2 minutes now).
      fake.advanceClock(61_000);
      fake.createDeployment({ projectId: project.id, environment: 'staging', userId: creator.id, manual: true });
      await fake.webhooksIdle();
      expect(receiver.received).toHaveLength(5);
      expect(fake.getHook(1)).toMatchObject({ recentFailures: 5, backoffCount: 2 });

      receiver.reply({ status: 200 });
      fake.enableHook(1);
      fake.createDeployment({ projectId: project.id, environment: 'staging', userId: creator.id, manual: true });
      await fake.webhooksIdle();
      expect(receiver.received).toHaveLength(8);
      expect((await call(fake.url, 'GET', `/projects/${project.id}/hooks/1`, { token: 'root' })).body).toMatchObject({
        alert_status: 'executable',
      });
    },
  );

  it('times out slow receivers (counted as a failure, not re-sent)', async () => {
    await setup('modern', { webhookTimeoutMs: 150 });
    receiver.reply((_hook, index) => (index === 0 ? { status: 200, delayMs: 1000 } : { status: 200 }));
    deployProduction();
    await fake.webhooksIdle();
    expect(fake.deliveries[0]).toMatchObject({ state: 'failed', status: null, error: 'timeout after 150 ms' });
    expect(fake.deliveries.slice(1).map((d) => d.state)).toEqual(['delivered', 'delivered']);
    expect(receiver.received).toHaveLength(3);
  });

  it('redeliver re-sends with the same Idempotency-Key and a new Webhook-UUID', async () => {
    await setup('modern');
    deployProduction();
    await fake.webhooksIdle();
    const again = fake.redeliver(1);
    await fake.webhooksIdle();
    expect(again).toMatchObject({ redeliveryOf: 1, state: 'delivered', status: 200 });
    const [original, resent] = [receiver.received[1]!, receiver.received[3]!];
    expect(resent.headers['idempotency-key']).toBe(original.headers['idempotency-key']);
    expect(resent.headers['x-gitlab-webhook-uuid']).not.toBe(original.headers['x-gitlab-webhook-uuid']);
    expect(resent.raw).toBe(original.raw);
  });

  it('holds deliveries and releases them reversed or shuffled', async () => {
    await setup('modern');
    fake.holdWebhooks();
    const d = deployProduction();
    fake.approveInUi(d.id, approver.id, 'approved');
    await fake.webhooksIdle();
    expect(receiver.received).toHaveLength(0);
    expect(fake.deliveries.every((x) => x.state === 'held')).toBe(true);
    fake.releaseWebhooks({ order: 'reverse' });
    await fake.webhooksIdle();
    expect(summary(receiver.received)).toEqual([
      'deployment:approved',
      'pipeline:manual',
      'deployment:blocked',
      'job:created',
    ]);

    fake.holdWebhooks();
    for (let i = 0; i < 6; i += 1)
      fake.createDeployment({ projectId: project.id, environment: 'staging', userId: creator.id, manual: true });
    fake.releaseWebhooks({ order: 'shuffle', seed: 7 });
    await fake.webhooksIdle();
    const shuffled = receiver.received.slice(4).map((h) => h.headers['idempotency-key']);
    const inOrder = fake.deliveries.slice(4).map((x) => x.idempotencyKey);
    expect([...shuffled].sort()).toEqual([...inOrder].sort());
    expect(shuffled).not.toEqual(inOrder);
  });
});
