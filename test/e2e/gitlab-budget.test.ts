import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGreenlight, type Greenlight } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { LogCapture } from '../helpers/app.ts';
import { manualClock, type ManualClock } from '../helpers/manual-clock.ts';
import { total } from '../helpers/prometheus.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/**
 * Two replicas (web and workers each) over one Redis share greenlight's GitLab budget. The budget's clock is the
 * test's: it stands still until the test moves it, so what GitLab hears is counted, not timed.
 */
describe('one GitLab request budget per token, shared by every replica', () => {
  let world: World | undefined;
  let replicas: Array<{ app: Greenlight; logs: LogCapture }> = [];
  let clock: ManualClock;
  let prefix: string;

  const start = async (env: Record<string, string>, policy?: string, before?: (w: World) => void) => {
    world = await startWorld({ webhookMode: 'modern' });
    before?.(world);
    if (policy !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'greenlight-policy-'));
      env = { ...env, CONFIG_FILE: join(dir, 'policy.yml') };
      writeFileSync(env.CONFIG_FILE!, policy);
    }
    clock = manualClock();
    prefix = uniquePrefix('gitlab-budget');
    for (let i = 0; i < 2; i++) {
      const logs = new LogCapture();
      const app = await createGreenlight(
        loadConfig({
          ...world.env,
          PORT: '0',
          REDIS_URL: TEST_REDIS_URL,
          REDIS_PREFIX: prefix,
          LOG_LEVEL: 'debug',
          ...env,
        }),
        {
          logDestination: logs,
          slackPacing: { intervalMs: 100 },
          // one job at a time per queue: with work waiting, each replica holds some of it
          // webhook events that met the 429 are tried again after a second (the stall timeout)
          workerSettings: { concurrency: { sync: 1, scan: 1, intake: 1 }, stallTimeoutMs: 1_000 },
          gitlabBudget: { now: clock.now, sleep: clock.sleep, maxWaitMs: 600_000 },
        },
      );
      await app.start();
      replicas.push({ app, logs });
    }
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${replicas[0]!.app.url()}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
    return world;
  };
  afterEach(async () => {
    // whatever still waits for the budget may go now, so that the replicas stop gracefully
    const pump = setInterval(() => clock.advance(60_000), 20);
    try {
      for (const r of replicas) await r.app.stop();
    } finally {
      clearInterval(pump);
    }
    replicas = [];
    await world?.close();
    await cleanupPrefix(prefix);
  });

  const deploy = (w: World, n: number) =>
    Array.from({ length: n }, (_, i) => {
      w.gitlab.protectEnvironment(w.project.id, `production-${i}`, {
        approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
      });
      return w.gitlab.createDeployment({
        projectId: w.project.id,
        environment: `production-${i}`,
        tier: 'production',
        userId: w.bob.id,
      });
    });
  const cardOf = (w: World, deploymentId: number) =>
    w.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId);
  /** Waits for the budget in one replica, by reason (paused, api, ...). */
  const waits = async (r: { app: Greenlight }, reason: string) =>
    total((await r.app.metrics.render()).body, 'greenlight_gitlab_budget_waits_total', { reason });
  /**
   * Moves the budget's clock on, a step at a time, until `done`; jobs delayed by Retry-After (BullMQ's real time)
   * are brought forward as the clock passes it.
   */
  const pumpUntil = (stepMs: number, done: () => boolean, what: string) =>
    waitFor(
      async () => {
        if (done()) return true;
        clock.advance(stepMs);
        const queues = replicas[0]!.app.queues;
        for (const queue of [queues.sync, queues.scan]) for (const job of await queue.getDelayed()) await job.promote();
        return false;
      },
      { what, timeoutMs: 15_000 },
    );

  it('a 429 on one route pauses every GitLab caller of both replicas until Retry-After has passed', async () => {
    // 12 a minute with a burst of 1: while the clock stands still, exactly one request goes (and meets the 429),
    // so nothing else is in flight when the 429 comes back
    const w = await start({ GITLAB_RATE_LIMIT: '12', GITLAB_PROJECT_RATE_LIMIT: '0', GITLAB_SWEEP_RATE_LIMIT: '0' });
    w.gitlab.failNext({ path: /^\/api\/v4\//, status: 429, headers: { 'Retry-After': '60' } });
    const ds = deploy(w, 4);
    await waitFor(() => w.gitlab.requests.some((r) => r.status === 429), { what: 'the 429' });
    const at429 = w.gitlab.requests.findIndex((r) => r.status === 429);
    await waitFor(
      () => replicas.some((r) => r.logs.find('GitLab rate limit; every caller of the token paused').length > 0),
      { what: 'the pause shared' },
    );
    // 55 s later (11 slots of the rate budget) both replicas have GitLab work waiting for the pause, and GitLab
    // heard nothing after its 429
    for (let step = 0; step < 11; step++) clock.advance(5_000);
    await waitFor(async () => (await waits(replicas[0]!, 'paused')) > 0 && (await waits(replicas[1]!, 'paused')) > 0, {
      what: 'both replicas waiting for the pause',
    });
    expect(w.gitlab.requests.slice(at429 + 1)).toEqual([]);
    expect(ds.some((d) => cardOf(w, d.id))).toBe(false);
    // once the pause is over, every card comes, and the throttled route is asked again
    await pumpUntil(5_000, () => ds.every((d) => cardOf(w, d.id)), 'every card after the pause');
    expect(w.gitlab.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(w.gitlab.requests.slice(at429 + 1).some((r) => r.path === w.gitlab.requests[at429]!.path)).toBe(true);
  });

  it('both replicas together never send more than the budget: its burst, then one request per interval', async () => {
    // 120 a minute: one request per 500 ms, a burst of 10 of which webhook work may use 8 (2 kept for clicks)
    const w = await start({ GITLAB_RATE_LIMIT: '120', GITLAB_PROJECT_RATE_LIMIT: '0', GITLAB_SWEEP_RATE_LIMIT: '0' });
    const ds = deploy(w, 6);
    await waitFor(async () => (await waits(replicas[0]!, 'api')) > 0 && (await waits(replicas[1]!, 'api')) > 0, {
      what: 'both replicas waiting for the budget',
    });
    // each replica waits only once the shared budget is spent: with a budget per replica GitLab would have 16
    expect(w.gitlab.requests).toHaveLength(8);
    await pumpUntil(500, () => ds.every((d) => cardOf(w, d.id)), 'every card');
    // over the whole run: never more than the burst plus one request per 500 ms the clock moved
    expect(w.gitlab.requests.length).toBeLessThanOrEqual(10 + Math.floor(clock.advanced() / 500));
    expect(w.gitlab.requests.length).toBeGreaterThan(8);
  });

  it('a click goes at once while the sweep waits: the sweep leaves half of the burst to clicks', async () => {
    // 240 a minute: a burst of 20, of which the sweep may use 10 and webhook work 15
    // the start's sweep lists a group of 30 projects and reads every one's protected environments: 30 requests
    // and more, in the background lane
    const w = await start(
      { GITLAB_RATE_LIMIT: '240', GITLAB_PROJECT_RATE_LIMIT: '0', GITLAB_SWEEP_RATE_LIMIT: '0' },
      `channel: ${CHANNEL}\ngroups: [bulk]\nsweep: { every: 1h }\n`,
      (world) => {
        for (let i = 0; i < 30; i++) world.gitlab.addProject({ pathWithNamespace: `bulk/p${i}` });
      },
    );
    const [d] = deploy(w, 1);
    const card = await pumpUntil(500, () => !!cardOf(w, d!.id), 'the card');
    expect(card).toBe(true);
    const ts = cardOf(w, d!.id)!.ts;
    // a full budget: the sweep takes its half and waits with the rest of its work
    clock.advance(60_000);
    const background = async () =>
      (await Promise.all(replicas.map((r) => r.app.metrics.render()))).reduce(
        (sum, m) => sum + total(m.body, 'greenlight_gitlab_budget_waits_total', { lane: 'background', reason: 'api' }),
        0,
      );
    await waitFor(async () => (await background()) > 0, { what: 'the sweep waiting for the budget' });
    const beforeClick = w.gitlab.requests.length;
    await w.slack.clickButton(replicas[0]!.app.url()!, {
      userId: w.slackIds.alice,
      channel: CHANNEL,
      ts,
      actionId: 'deploy_approve',
    });
    // the clock stands still: only the budget the sweep had to leave lets the decision through
    await waitFor(() => w.gitlab.approvalCalls().length === 1, { what: 'the approval recorded' });
    // counted up to the approval itself: the hook GitLab sends for it starts work of its own (a sync) meanwhile
    const approvalAt = w.gitlab.requests.indexOf(w.gitlab.approvalCalls()[0]!);
    expect(approvalAt + 1 - beforeClick).toBeLessThanOrEqual(10);
  });
});
