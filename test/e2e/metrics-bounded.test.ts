// Attack 4 of issue 14: /metrics needs no auth, and values a caller controls became label values. Forged
// webhooks (answered 401) put their X-Gitlab-Event header into a label: thousands of distinct values grew memory
// and /metrics without bound. Every respond() to a slash command put the secret last segment of Slack's
// response_url into a label. Now every label has a bounded set of values, and promtool accepts the output.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { promtoolProblems, samples } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const FORGED = 1_000;

describe('/metrics labels are bounded', () => {
  let world: World;
  let app: TestApp;
  const scrape = async () => (await fetch(`${app.url}/metrics`)).text();

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    app = await startTestApp({
      // the web role alone: no sweep or job adds series of its own while the flood is measured
      env: { ...world.env, ROLE: 'web' },
      name: 'e2e-metrics-bounded',
      // the flood comes from one address: the per-address limit is not what this test is about
      options: { rateLimits: { webhooks: { perSecond: 100_000, burst: 100_000 } } },
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  it('counts forged webhooks with random X-Gitlab-Event headers under hook="other", in a few series', async () => {
    const before = await scrape();
    for (let i = 0; i < FORGED; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await fetch(`${app.url}/webhooks/gitlab`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-gitlab-token': `forged-${randomBytes(8).toString('hex')}`,
              'x-gitlab-event': `Evil ${randomBytes(12).toString('hex')} Hook`,
            },
            body: '{}',
          });
          expect(res.status).toBe(401);
          await res.arrayBuffer();
        }),
      );
    }
    // The flood added one series (hook="other", result="unauthorized"), not one per request.
    const flooded = await scrape();
    expect(samples(flooded, 'greenlight_webhooks_total', { hook: 'other', result: 'unauthorized' })[0]?.value).toBe(
      FORGED,
    );
    // (prom-client's own process and GC series are left out: V8 adds a GC kind now and then, boundedly)
    const ownSeries = (text: string) =>
      text.split('\n').filter((l) => l && !l.startsWith('#') && !/^greenlight_(nodejs|process)_/.test(l));
    expect(ownSeries(flooded).length - ownSeries(before).length).toBeLessThanOrEqual(1);
    // A real GitLab delivery still counts under its own name.
    world.gitlab.createDeployment({ projectId: world.project.id, environment: 'production', userId: world.bob.id });
    const text = await waitFor(
      async () => {
        const t = await scrape();
        return samples(t, 'greenlight_webhooks_total', { hook: 'Deployment Hook' }).length > 0 ? t : undefined;
      },
      { what: 'the real delivery counted' },
    );
    const webhookSeries = samples(text, 'greenlight_webhooks_total');
    expect(new Set(webhookSeries.map((s) => s.labels.hook))).toEqual(new Set(['other', 'Deployment Hook']));
    expect(samples(text, 'greenlight_webhooks_total', { hook: 'other', result: 'unauthorized' })[0]?.value).toBe(
      FORGED,
    );
    expect(text).not.toMatch(/Evil [0-9a-f]+ Hook/);
  });

  it("labels respond() calls response_url, never the URL's secret path", async () => {
    await world.slack.sendCommand(app.url, { userId: world.slackIds.alice, channelId: CHANNEL, text: 'help' });
    const answer = await waitFor(() => world.slack.responses()[0], { what: 'the answer through response_url' });
    const text = await waitFor(
      async () => {
        const t = await scrape();
        return samples(t, 'greenlight_slack_request_duration_seconds_count', { operation: 'response_url' }).length
          ? t
          : undefined;
      },
      { what: 'the respond() call counted' },
    );
    expect(text).not.toContain(answer.id);
    const operations = new Set(
      samples(text, 'greenlight_slack_request_duration_seconds_count').map((s) => s.labels.operation),
    );
    for (const operation of operations) expect(operation).toMatch(/^(response_url|[a-z]+(\.[a-zA-Z]+)+)$/);
  });

  it('passes promtool check metrics, default metrics included', async () => {
    const text = await scrape();
    expect(text).toContain('greenlight_process_resident_memory_bytes');
    expect(text).toContain('greenlight_nodejs_active_handles{');
    expect(promtoolProblems(text)).toEqual([]);
  });
});
