import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGreenlightProcess, type GreenlightProcess } from '../helpers/process.ts';
import { samples, total } from '../helpers/prometheus.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const DEPLOYMENTS = 6;

describe('scale out: ROLE=web and two ROLE=worker processes on one Redis', () => {
  let world: World;
  let web: GreenlightProcess;
  let workers: GreenlightProcess[];
  const prefix = uniquePrefix('scale');
  const port = (p: GreenlightProcess, msg: string) => Number(p.logs.find((l) => l.msg === msg)!.port);

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    const env = { ...world.env, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'debug' };
    web = startGreenlightProcess('web', { ...env, ROLE: 'web' });
    workers = [1, 2].map((n) => startGreenlightProcess(`worker-${n}`, { ...env, ROLE: 'worker' }));
    await Promise.all([
      web.waitForLog('greenlight web listening'),
      ...workers.map((w) => w.waitForLog('greenlight workers started')),
    ]);
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `http://127.0.0.1:${port(web, 'greenlight web listening')}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
  });
  afterAll(async () => {
    const codes = await Promise.all([web, ...(workers ?? [])].filter(Boolean).map((p) => p.stop()));
    await world?.close();
    await cleanupPrefix(prefix);
    expect(codes).toEqual([0, 0, 0]); // graceful shutdown on SIGTERM
  });

  it('posts one card per deployment and records each click once, every job handled by exactly one worker', async () => {
    // one environment each: a newer deployment to the same environment would supersede the older card
    const deployments = Array.from({ length: DEPLOYMENTS }, (_, i) => {
      world.gitlab.protectEnvironment(world.project.id, `production-${i}`, {
        approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
      });
      return world.gitlab.createDeployment({
        projectId: world.project.id,
        environment: `production-${i}`,
        tier: 'production',
        userId: world.bob.id,
      });
    });
    // paced to one channel at Slack's 1.1 s: wait while the cards keep coming
    const found = () =>
      deployments.map((d) =>
        world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      );
    const cards = await waitFor(() => (found().every(Boolean) ? found().map((m) => m!) : undefined), {
      what: 'every card',
      progress: () => found().filter(Boolean).length,
    });
    const webUrl = `http://127.0.0.1:${port(web, 'greenlight web listening')}`;
    for (const card of cards)
      await world.slack.clickButton(webUrl, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
    await waitFor(() => world.gitlab.approvalCalls().length === DEPLOYMENTS, {
      what: 'every approval',
      timeoutMs: 15_000,
    });
    await waitFor(() => cards.every((c) => /Approved/.test(world.slack.message(CHANNEL, c.ts)?.text ?? '')), {
      what: 'every card approved',
      timeoutMs: 15_000,
    });
    await waitFor(
      () =>
        world.slack.ephemerals({ user: world.slackIds.alice }).filter((e) => /You approved/.test(e.text ?? ''))
          .length === DEPLOYMENTS,
      { what: 'every notice' },
    );

    // Slack and GitLab saw each thing exactly once
    expect(world.slack.callsTo('chat.postMessage')).toHaveLength(DEPLOYMENTS);
    expect(new Set(world.gitlab.approvalCalls().map((c) => c.path)).size).toBe(DEPLOYMENTS);
    expect(world.slack.messages(CHANNEL)).toHaveLength(DEPLOYMENTS);

    // each worker serves /healthz and /metrics; once the queues are quiet, metrics and logs agree
    const scrape = () =>
      Promise.all(
        workers.map(async (w) =>
          (await fetch(`http://127.0.0.1:${port(w, 'greenlight worker health and metrics listening')}/metrics`)).text(),
        ),
      );
    const completed = () =>
      workers.flatMap((w) =>
        w.logs
          .filter((l) => l.msg === 'job completed')
          .map((l) => ({ worker: w.name, job: `${String(l.queue)}/${String(l.jobId)}` })),
      );
    const quiet = await waitFor(
      async () => {
        const texts = await scrape();
        const counted = texts.reduce(
          (sum, text) => sum + total(text, 'greenlight_jobs_total', { result: 'completed' }),
          0,
        );
        const active =
          total(texts[0]!, 'greenlight_queue_jobs', { state: 'active' }) +
          total(texts[0]!, 'greenlight_queue_jobs', { state: 'waiting' });
        return active === 0 && counted === completed().length ? texts : undefined;
      },
      { what: 'quiet queues, metrics matching logs' },
    );
    for (const w of workers)
      expect(
        (await fetch(`http://127.0.0.1:${port(w, 'greenlight worker health and metrics listening')}/healthz`)).status,
      ).toBe(200);
    for (const text of quiet)
      expect(samples(text, 'greenlight_jobs_total').every((s) => s.labels.role === 'worker')).toBe(true);

    // every job completed once, in one worker; the web process ran none
    const done = completed();
    // intake, sync, decision, notice per deployment at least
    expect(done.length).toBeGreaterThanOrEqual(DEPLOYMENTS * 4);
    expect(new Set(done.map((d) => d.job)).size).toBe(done.length);
    expect(done.filter((d) => d.job.startsWith('decisions/'))).toHaveLength(DEPLOYMENTS);
    expect(web.logs.filter((l) => l.msg === 'job completed')).toHaveLength(0);
    // ~70 jobs for two workers: both take a share
    for (const w of workers) expect(done.filter((d) => d.worker === w.name).length).toBeGreaterThan(0);
  });
});
