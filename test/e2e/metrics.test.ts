import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { sample, samples, total } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

describe('GET /metrics', () => {
  let world: World;
  let app: TestApp;
  const scrape = async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    app = await startTestApp({ env: world.env, name: 'e2e-metrics' });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  it('counts webhooks, cards, decisions, jobs and API calls, and shows what is pending', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      { what: 'card' },
    );
    // the sync job completes (and is counted) just after the card appears
    const waiting = await waitFor(
      async () => {
        const text = await scrape();
        return sample(text, 'greenlight_cards_total', { action: 'posted' }) === 1 ? text : undefined;
      },
      { what: 'posted card counted' },
    );
    expect(sample(waiting, 'greenlight_pending_approvals')).toBe(1);
    expect(sample(waiting, 'greenlight_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0);

    // a refusal (the creator) and a recorded approval
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.bob,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    await waitFor(() => world.slack.ephemerals({ user: world.slackIds.bob }).length > 0, { what: 'refusal notice' });
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    await waitFor(
      async () =>
        (sample(await scrape(), 'greenlight_decisions_total', { action: 'approve', outcome: 'recorded' }) ?? 0) === 1,
      { what: 'recorded decision counted' },
    );
    await waitFor(async () => (sample(await scrape(), 'greenlight_cards_total', { action: 'updated' }) ?? 0) >= 1, {
      what: 'card update counted',
    });

    const text = await scrape();
    expect(sample(text, 'greenlight_decisions_total', { action: 'approve', outcome: 'self_approval' })).toBe(1);
    expect(
      sample(text, 'greenlight_webhooks_total', { hook: 'Deployment Hook', result: 'queued' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'greenlight_jobs_total', { queue: 'sync', result: 'completed' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'greenlight_job_duration_seconds_count', { queue: 'decisions', result: 'completed' })).toBe(2);
    expect(sample(text, 'greenlight_job_wait_seconds_count', { queue: 'intake' })).toBeGreaterThanOrEqual(1);
    for (const queue of ['intake', 'scan', 'sync', 'decisions', 'notices']) {
      expect(
        samples(text, 'greenlight_queue_jobs', { queue })
          .map((s) => s.labels.state)
          .sort(),
      ).toEqual(['active', 'delayed', 'failed', 'waiting']);
    }
    // GitLab requests by route (ids folded) and status; Slack Web API calls by method
    expect(
      sample(text, 'greenlight_gitlab_request_duration_seconds_count', {
        operation: 'GET projects/:id/deployments/:id',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, 'greenlight_gitlab_request_duration_seconds_count', {
        operation: 'POST projects/:id/deployments/:id/approval',
        status: '201',
      }),
    ).toBe(1);
    expect(
      sample(text, 'greenlight_slack_request_duration_seconds_count', { operation: 'chat.postMessage', status: '200' }),
    ).toBe(1);
    expect(sample(text, 'greenlight_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'greenlight_nodejs_eventloop_lag_seconds')).toBeDefined();
    expect(samples(text, 'greenlight_webhooks_total').every((s) => s.labels.role === 'all')).toBe(true);
  });

  it('counts rejected webhooks and failed API calls by status and Slack error', async () => {
    const forged = await fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { 'X-Gitlab-Event': 'Deployment Hook', 'X-Gitlab-Token': 'wrong' },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    world.gitlab.failNext({ method: 'GET', path: /\/deployments\/\d+$/, status: 502 });
    world.slack.failNext('chat.postMessage', { status: 429, retryAfter: 0 });
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    await waitFor(() => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id), {
      what: 'card after retries',
    });
    const text = await scrape();
    expect(sample(text, 'greenlight_webhooks_total', { hook: 'Deployment Hook', result: 'unauthorized' })).toBe(1);
    expect(
      sample(text, 'greenlight_api_errors_total', {
        api: 'gitlab',
        operation: 'GET projects/:id/deployments/:id',
        status: '502',
      }),
    ).toBe(1);
    expect(
      sample(text, 'greenlight_api_errors_total', {
        api: 'slack',
        operation: 'chat.postMessage',
        status: '429',
        error: '',
      }),
    ).toBe(1);
    expect(total(text, 'greenlight_jobs_total', { queue: 'sync', result: 'retried' })).toBeGreaterThanOrEqual(1);
  });
});
