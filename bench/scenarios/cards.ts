import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startApp, type BenchContext } from '../lib/app.ts';
import { HttpObserver } from '../lib/observe.ts';
import { summarize, type Summary } from '../lib/stats.ts';
import { DEFAULT_CHANNEL, startBenchWorld, type BenchWorld } from '../lib/world.ts';

export type CardsSizes = {
  deployments: number;
  /** fake Slack accepts 1 chat.postMessage per second per channel (429 + Retry-After beyond) */
  paced: boolean;
  /** channels the cards are spread over (the app itself posts at most 1 message per second per channel) */
  channels: number;
  /**
   * which webhook events the app's hook subscribes to ('all' = deployment, pipeline and job events, as the README says)
   */
  events: 'deployment' | 'all';
  /** approve this many cards one after the other once all are posted (0 = none) */
  clicks: number;
  /** cards posted (to another channel) before the measurement, so that the app is warm like a running service */
  warmup: number;
  settleMs: number;
  /**
   * The summary of what each deployment changes (policy `changes`, on as shipped), and whether every
   * environment has a history for it to read (a previous successful deployment, merge requests since, a
   * pipeline with jobs); without one, each card is a first deployment.
   */
  changes?: { summary: 'on' | 'off'; history: boolean };
  /**
   * Then every open card synced again, as the sweep does: the app is restarted on its Redis data (a new process,
   * its in-process caches cold as minutes later) and its start-up sweep re-syncs every open card.
   */
  resync?: boolean;
};

/** The sweep of a restarted app: what syncing every open card again costs at GitLab. */
export type ResyncResult = {
  /** syncs (a sync reads its deployment once: GET /deployments/:id) */
  syncs: number;
  /** GitLab requests per sync, by what they read (the sweep's listing of blocked deployments included) */
  perSync: Record<ResyncRoute, number>;
  /** all of them per sync */
  total: number;
  /** every measured card read again, by (from the restart) */
  ms: number;
};
export const RESYNC_ROUTES = [
  'deployment',
  'environment',
  'pipeline jobs',
  'freeze periods',
  'range',
  'project',
  'members',
  'sweep listing',
] as const;
export type ResyncRoute = (typeof RESYNC_ROUTES)[number];

export type ClickResult = {
  clicks: number;
  /** click sent by the fake Slack -> approval POST answered 201 by the fake GitLab */
  toApproval: Summary;
  /** click sent -> the app's HTTP answer (Slack's 3 s ack deadline) */
  ack: Summary;
  missing: number;
  peakRss: number | null;
};

export type CardsResult = CardsSizes & {
  /** creating the deployments in the fake GitLab (synchronous loop) */
  createMs: number;
  /** deployment created -> card posted at the fake Slack */
  latency: Summary;
  drainMs: number;
  /** (cards per channel - 1) s: the fastest any app can post them at Slack's 1 message per second per channel */
  minimumMs: number | null;
  deliveries: number;
  /** deliveries the app had answered when the measurement ended */
  deliveriesAnswered: number;
  /** deliveries that failed (non-2xx, timeout) or were dropped (hook disabled after failures) */
  deliveriesFailed: number;
  /** t0 -> last webhook answered by the app: how long the fake GitLab's one-at-a-time dispatcher needed */
  webhooksDoneMs: number;
  /** Deployment Hook answered -> card posted */
  webhookToCard: Summary;
  cards: number;
  duplicates: number;
  lost: number;
  rateLimited: number;
  /** requests the app made to the fake GitLab and Web API calls to the fake Slack during the run */
  gitlabRequests: number;
  slackCalls: number;
  appCpuMs: number | null;
  /** event-loop utilisation of the bench process (the fakes) during the run: near 1 = the fakes were the bottleneck */
  fakesElu: number;
  idleRss: number | null;
  peakRss: number | null;
  appWarnings: Record<string, number>;
  click: ClickResult | null;
  resynced: ResyncResult | null;
};

const toWall = (perfMs: number) => performance.timeOrigin + perfMs;

/**
 * N deployments become blocked at once in the fake GitLab (19.3+ webhook mode, hook pointing at the app, a
 * separate process with ROLE=all); measures when each card arrives at the fake Slack, checks that each
 * deployment got exactly one card, and optionally approves cards by clicking.
 */
export async function runCards(ctx: BenchContext, sizes: CardsSizes, name: string): Promise<CardsResult> {
  const world = await startBenchWorld({ channels: sizes.channels, changes: sizes.changes?.summary ?? 'on' });
  const observer = new HttpObserver();
  try {
    // before the app's hook exists: the previous deployments send it nothing
    const release = sizes.changes?.history ? world.history(sizes.deployments, 200) : null;
    const app = await startApp(ctx, world, { name, role: 'all', settleMs: sizes.settleMs });
    world.hook(app.url, sizes.events);

    let posted = 0;
    let rateLimited = 0;
    let slackCalls = 0;
    observer.served(world.slack.url, ({ url, status }) => {
      if (url.startsWith('/api/')) slackCalls += 1;
      if (url !== '/api/chat.postMessage') return;
      if (status === 200) posted += 1;
      else if (status === 429) rateLimited += 1;
    });
    const webhookAnswered = new Map<string, number>();
    observer.fetched(app.url, ({ path, headers, at }) => {
      if (path === '/webhooks/gitlab' && headers['idempotency-key'])
        webhookAnswered.set(headers['idempotency-key'], at);
    });

    if (sizes.warmup > 0) {
      for (let i = 0; i < sizes.warmup; i += 1) {
        world.protect(`warm-up-${i}`);
        world.gitlab.createDeployment({
          projectId: world.project.id,
          environment: `warm-up-${i}`,
          userId: world.bob.id,
          commitTitle: `Warm-up ${i}`,
        });
      }
      const until = performance.now() + 30_000;
      while (
        world.slack.messages(DEFAULT_CHANNEL).length < sizes.warmup &&
        performance.now() < until &&
        !app.child.exited()
      )
        await sleep(50);
      await world.gitlab.webhooksIdle();
      await sleep(sizes.settleMs);
      posted = 0;
      slackCalls = 0;
      app.sampler.reset();
    }
    if (sizes.paced) world.slack.setPostMessagePace({ perChannelPerSecond: 1 });
    const deliveriesBefore = world.gitlab.deliveries.length;
    const gitlabBefore = world.gitlab.requests.length;
    const cpu0 = app.child.cpuMs();
    const elu0 = performance.eventLoopUtilization();
    const environments = Array.from({ length: sizes.deployments }, (_, i) => world.environmentFor(i));
    const t0 = performance.now();
    const ids: number[] = [];
    for (const [i, environment] of environments.entries()) {
      ids.push(
        world.gitlab.createDeployment({
          projectId: world.project.id,
          environment,
          userId: world.bob.id,
          commitTitle: `Change ${i}`,
          ...(release !== null && {
            sha: release,
            pipelineJobs: [
              { name: 'lint', status: 'success' as const },
              { name: 'unit', status: 'success' as const },
            ],
          }),
        }).id,
      );
    }
    const createMs = performance.now() - t0;
    const perChannel = Math.ceil(sizes.deployments / sizes.channels);
    const minimumMs = perChannel > 1 ? (perChannel - 1) * 1000 : null;
    const timeoutMs = 60_000 + (minimumMs ?? 0) * 3 + sizes.deployments * 50;
    const deadline = performance.now() + timeoutMs;
    // Stop waiting when nothing moves any more (e.g. the fake GitLab disabled the hook after failed deliveries).
    const stallMs = Math.max(5_000, Math.min(20_000, sizes.deployments * 20));
    // chat.postMessage answers are counted as they happen; the channels are only read (a copy of each) once
    // enough posts went out, since other messages (DMs, reminders) are posted too.
    const cardsPosted = () =>
      world.channels.reduce(
        (n, channel) =>
          n +
          world.slack.messages(channel).filter((m) => m.metadata?.event_payload?.deployment_id !== undefined).length,
        0,
      );
    let progressAt = performance.now();
    let seen = 0;
    let checkedAt = 0;
    while (performance.now() < deadline && !app.child.exited()) {
      const now = performance.now();
      if (posted >= sizes.deployments && now - checkedAt > 250) {
        checkedAt = now;
        if (cardsPosted() >= sizes.deployments) break;
      }
      if (posted + rateLimited !== seen) {
        seen = posted + rateLimited;
        progressAt = now;
      } else if (now - progressAt > stallMs) break;
      await sleep(50);
    }
    // With pipeline and job events the fake GitLab needs minutes to send 3 hooks per deployment one at a time;
    // the cards do not wait for them (scans find the deployments), so neither does the measurement.
    if (sizes.events === 'deployment') await world.gitlab.webhooksIdle();
    await sleep(sizes.settleMs);
    const elu = performance.eventLoopUtilization(elu0);
    const gitlabRequests = world.gitlab.requests.length - gitlabBefore;
    const slackCallsDuringRun = slackCalls;
    const appCpuMs = diff(app.child.cpuMs(), cpu0);

    // What Slack shows: top-level messages carrying a deployment id in their metadata, per deployment.
    const cardsOf = new Map<number, number[]>();
    for (const channel of world.channels) {
      for (const message of world.slack.messages(channel)) {
        const id = Number(message.metadata?.event_payload?.deployment_id);
        if (!Number.isFinite(id)) continue;
        const times = cardsOf.get(id) ?? [];
        times.push(message.history[0]!.at);
        cardsOf.set(id, times);
      }
    }
    const t0Wall = toWall(t0);
    const latencies: number[] = [];
    let lost = 0;
    let duplicates = 0;
    for (const id of ids) {
      const times = cardsOf.get(id);
      if (!times) lost += 1;
      else {
        if (times.length > 1) duplicates += 1;
        latencies.push(Math.min(...times) - t0Wall);
      }
    }
    const webhookToCard: number[] = [];
    let webhooksDone = 0;
    let deliveriesAnswered = 0;
    const deliveries = world.gitlab.deliveries.slice(deliveriesBefore);
    for (const delivery of deliveries) {
      const at = webhookAnswered.get(delivery.idempotencyKey);
      if (at === undefined) continue;
      deliveriesAnswered += 1;
      webhooksDone = Math.max(webhooksDone, at);
      // With pipeline and job hooks, scans often post a card before its deployment's hook arrives.
      const id =
        delivery.event === 'Deployment Hook' && sizes.events === 'deployment'
          ? Number(delivery.payload.deployment_id)
          : Number.NaN;
      const times = cardsOf.get(id);
      if (times) webhookToCard.push(Math.min(...times) - toWall(at));
    }
    const latency = summarize(latencies);

    let click: ClickResult | null = null;
    if (sizes.clicks > 0)
      click = await runClicks(world, app.url, observer, ids.slice(0, sizes.clicks), () => app.sampler, sizes.settleMs);

    const stopped = await app.stop({ keepData: sizes.resync === true });
    const resynced = sizes.resync ? await runResync(ctx, world, name, app.prefix, ids, sizes.settleMs) : null;
    return {
      ...sizes,
      createMs,
      latency,
      drainMs: latency.max,
      minimumMs,
      deliveries: deliveries.length,
      deliveriesAnswered,
      deliveriesFailed: deliveries.filter((d) => d.state === 'failed' || d.state === 'dropped').length,
      webhooksDoneMs: webhooksDone ? webhooksDone - t0 : Number.NaN,
      webhookToCard: summarize(webhookToCard),
      cards: [...cardsOf.values()].reduce((n, t) => n + t.length, 0),
      duplicates,
      lost,
      rateLimited,
      gitlabRequests,
      slackCalls: slackCallsDuringRun,
      appCpuMs,
      fakesElu: elu.utilization,
      idleRss: app.idleRss,
      peakRss: stopped.peakRss,
      appWarnings: warnings(app.child.logFile),
      click,
      resynced,
    };
  } finally {
    observer.close();
    await world.close();
  }
}

/** What a request to the fake GitLab reads, for the re-sync table (null: the app's start-up checks). */
function resyncRoute(method: string, path: string): ResyncRoute | null {
  if (method !== 'GET') return null;
  if (/^\/api\/v4\/groups\/\d+\/members/.test(path)) return 'members';
  const rest = /^\/api\/v4\/projects\/\d+(\/.*)?$/.exec(path)?.[1] ?? null;
  if (rest === null) return null;
  if (rest === '') return 'project';
  if (/^\/deployments\/\d+$/.test(rest)) return 'deployment';
  if (rest === '/deployments') return 'sweep listing';
  if (/^\/environments\/\d+$/.test(rest)) return 'environment';
  if (/^\/pipelines\/\d+\/jobs$/.test(rest)) return 'pipeline jobs';
  if (rest === '/freeze_periods') return 'freeze periods';
  if (rest === '/repository/commits' || rest === '/merge_requests') return 'range';
  if (rest.startsWith('/members')) return 'members';
  return null;
}

/**
 * The app restarted on its Redis data: its start-up sweep syncs every open card again (the scan of the project
 * too, which asks for the same syncs). Waits until every measured card's deployment was read again and GitLab
 * then saw no request for `quietMs` (the scenario's settle time), and counts what the syncs read, per sync.
 */
async function runResync(
  ctx: BenchContext,
  world: BenchWorld,
  name: string,
  prefix: string,
  ids: number[],
  quietMs: number,
): Promise<ResyncResult> {
  const measured = new Set(ids);
  const from = world.gitlab.requests.length;
  const t0 = performance.now();
  const app = await startApp(ctx, world, { name: `${name}-resync`, role: 'all', settleMs: 0, prefix });
  try {
    const deadline = performance.now() + 120_000;
    const reRead = new Set<number>();
    let seen = from;
    let allAt: number | null = null;
    let quietSince = performance.now();
    while (performance.now() < deadline && !app.child.exited()) {
      const requests = world.gitlab.requests;
      if (requests.length !== seen) {
        for (const r of requests.slice(seen)) {
          const id = Number(/\/deployments\/(\d+)$/.exec(r.path)?.[1]);
          if (r.method === 'GET' && measured.has(id)) reRead.add(id);
        }
        seen = requests.length;
        quietSince = performance.now();
      }
      if (allAt === null && reRead.size === measured.size) allAt = performance.now();
      if (allAt !== null && performance.now() - quietSince > quietMs) break;
      await sleep(100);
    }
    const perSync = Object.fromEntries(RESYNC_ROUTES.map((r) => [r, 0])) as Record<ResyncRoute, number>;
    for (const r of world.gitlab.requests.slice(from)) {
      const route = resyncRoute(r.method, r.path);
      if (route) perSync[route] += 1;
    }
    const syncs = perSync.deployment;
    const total = RESYNC_ROUTES.reduce((n, r) => n + perSync[r], 0);
    for (const r of RESYNC_ROUTES) perSync[r] = syncs ? perSync[r] / syncs : Number.NaN;
    return { syncs, perSync, total: syncs ? total / syncs : Number.NaN, ms: (allAt ?? Number.NaN) - t0 };
  } finally {
    await app.stop();
  }
}

/** One click at a time: Approve on the card, then wait until the fake GitLab has recorded the approval. */
async function runClicks(
  world: BenchWorld,
  appUrl: string,
  observer: HttpObserver,
  ids: number[],
  sampler: () => { reset(): void; peak: number | null },
  settleMs: number,
): Promise<ClickResult> {
  const waiting = new Map<number, (at: number) => void>();
  observer.served(world.gitlab.url, ({ method, url, status, at }) => {
    const m = method === 'POST' && status === 201 ? /\/deployments\/(\d+)\/approval$/.exec(url) : null;
    if (m) waiting.get(Number(m[1]))?.(at);
  });
  const ts = new Map<number, { channel: string; ts: string }>();
  for (const channel of world.channels) {
    for (const message of world.slack.messages(channel)) {
      const id = Number(message.metadata?.event_payload?.deployment_id);
      if (Number.isFinite(id) && !ts.has(id)) ts.set(id, { channel, ts: message.ts });
    }
  }
  await sleep(settleMs);
  sampler().reset();
  const approvers = [world.slackIds.alice, world.slackIds.carol];
  const toApproval: number[] = [];
  const ack: number[] = [];
  let missing = 0;
  for (const [i, id] of ids.entries()) {
    const card = ts.get(id);
    if (!card) {
      missing += 1;
      continue;
    }
    const recorded = new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 10_000);
      waiting.set(id, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
    const sent = performance.now();
    await world.slack.clickButton(appUrl, {
      userId: approvers[i % approvers.length]!,
      channel: card.channel,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    ack.push(performance.now() - sent);
    const at = await recorded;
    waiting.delete(id);
    if (at === null) missing += 1;
    else toApproval.push(at - sent);
  }
  return {
    clicks: ids.length,
    toApproval: summarize(toApproval),
    ack: summarize(ack),
    missing,
    peakRss: sampler().peak,
  };
}

/** Count of the app's warn/error log lines by message. */
function warnings(logFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!/"level":"(warn|error|fatal)"/.test(line)) continue;
    const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 80);
    counts[msg] = (counts[msg] ?? 0) + 1;
  }
  return counts;
}

function diff(after: number | null, before: number | null): number | null {
  return after === null || before === null ? null : after - before;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
