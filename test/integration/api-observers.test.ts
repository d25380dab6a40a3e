import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitLabReader } from '../../src/adapters/gitlab/reader.ts';
import { gitlabOperation } from '../../src/adapters/metrics/api-observer.ts';
import { createMetrics, type ApiCall } from '../../src/adapters/metrics/metrics.ts';
import { createSlackWebClient } from '../../src/adapters/slack/web.ts';
import { sample } from '../helpers/prometheus.ts';
import { ADMIN_TOKEN, CHANNEL, startWorld, type World } from '../helpers/world.ts';

describe('API observers (what /metrics learns about GitLab and Slack calls)', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('folds ids and encoded paths out of GitLab routes', () => {
    expect(gitlabOperation('get', 'projects/acme%2Fweb/deployments/17')).toBe('GET projects/:id/deployments/:id');
    expect(gitlabOperation('POST', '/api/v4/projects/4/jobs/99/play?x=1')).toBe('POST projects/:id/jobs/:id/play');
  });

  it('reports every GitLab request with its operation, status and duration', async () => {
    const calls: ApiCall[] = [];
    const reader = createGitLabReader({ url: world.gitlab.url, token: ADMIN_TOKEN, observe: (c) => calls.push(c) });
    expect(await reader.getDeployment({ projectId: world.project.id, deploymentId: 424242 })).toBeNull();
    const notFound = calls.find((c) => c.operation === 'GET projects/:id/deployments/:id');
    expect(notFound).toMatchObject({ api: 'gitlab', status: '404' });
    expect(notFound!.seconds).toBeGreaterThanOrEqual(0);
    const down = createGitLabReader({ url: 'http://127.0.0.1:1', token: ADMIN_TOKEN, observe: (c) => calls.push(c) });
    await expect(down.getDeployment({ projectId: 1, deploymentId: 1 })).rejects.toMatchObject({
      code: 'gitlab_unavailable',
    });
    expect(calls.at(-1)).toMatchObject({ api: 'gitlab', status: 'network' });
  });

  it('reports Slack calls with HTTP status and the error code of ok:false answers', async () => {
    const metrics = createMetrics({ role: 'all', defaultMetrics: false });
    const slack = createSlackWebClient({
      token: world.slack.botToken,
      apiUrl: world.slack.apiUrl,
      observe: metrics.api,
    });
    await slack.chat.postMessage({ channel: CHANNEL, text: 'hello' });
    await expect(slack.chat.postMessage({ channel: 'C0NOWHERE', text: 'hello' })).rejects.toThrow(/channel_not_found/);
    world.slack.failNext('chat.update', { status: 503 });
    await expect(slack.chat.update({ channel: CHANNEL, ts: '1.2', text: 'x' })).rejects.toThrow();
    const text = (await metrics.render()).body;
    expect(
      sample(text, 'greenlight_slack_request_duration_seconds_count', { operation: 'chat.postMessage', status: '200' }),
    ).toBe(2);
    expect(
      sample(text, 'greenlight_api_errors_total', {
        api: 'slack',
        operation: 'chat.postMessage',
        status: '200',
        error: 'channel_not_found',
      }),
    ).toBe(1);
    expect(sample(text, 'greenlight_api_errors_total', { api: 'slack', operation: 'chat.update', status: '503' })).toBe(
      1,
    );
  });

  it('keeps one registry per app instance', async () => {
    const a = createMetrics({ role: 'web' });
    const b = createMetrics({ role: 'worker' });
    a.webhook('Deployment Hook', 'queued');
    expect(sample((await a.render()).body, 'greenlight_webhooks_total', { role: 'web', result: 'queued' })).toBe(1);
    expect(sample((await b.render()).body, 'greenlight_webhooks_total')).toBeUndefined();
  });
});
