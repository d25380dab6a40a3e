import { performance } from 'node:perf_hooks';
import { startApp, type BenchContext } from '../lib/app.ts';
import { HttpObserver } from '../lib/observe.ts';
import { startBenchWorld, WEBHOOK_SECRET, type BenchWorld } from '../lib/world.ts';

/** The sweep interval the app ships with (policy `sweep.every`): the figures are scaled to it. */
export const DEFAULT_SWEEP_MS = 300_000;
/**
 * The app's GitLab request budgets per minute and their defaults (issue 17). With a shortened interval the
 * scenario sets each to its default times the time scale, so that an app that paces by its budgets runs as fast,
 * relative to its shortened interval, as it would at the default; at the default interval it sets none (the
 * app's own defaults apply). An app without these settings ignores them.
 */
export const DEFAULT_BUDGETS_PER_MIN = {
  GITLAB_RATE_LIMIT: 1_800,
  GITLAB_PROJECT_RATE_LIMIT: 360,
  GITLAB_SWEEP_RATE_LIMIT: 600,
} as const;

export type ScaleSizes = {
  /** projects in the one group the policy names (`groups: [scale]`) */
  projects: number;
  /** every `1 / protectedShare`-th project has protected environments that need one approval */
  protectedShare: number;
  /** deployments blocked waiting for approval, spread over the protected projects, carded before measuring */
  cards: number;
  /** channels the cards are routed to (the app posts at most one message per second per channel) */
  channels: number;
  /** the shortened sweep interval (policy `sweep.every`) */
  intervalMs: number;
  /** intervals measured after the first one (cold) */
  warmIntervals: number;
};

/** What one interval (or the start's burst) cost at GitLab. */
export type ScaleSlot = {
  /** run time (performance.now() ms) of its start */
  start: number;
  ms: number;
  requests: number;
  byRoute: Record<string, number>;
  /** distinct projects whose deployments were listed (GET /projects/:id/deployments) */
  projectsListed: number;
  /** start -> the last GitLab request in it (ms) */
  activeMs: number;
  /** most requests in any 60 s of run time within it (all of them when it is shorter) */
  busiestRealMinute: number;
  /** most requests in one 1/5 of an interval from its start (a minute of the default interval, scaled) */
  busiestScaledMinute: number;
  /** RSS of the app just before the interval ended */
  rssAtEnd: number | null;
};

export type ScaleResult = ScaleSizes &
  ScaleFigures & {
    /** the warm sweep with the slow cycles at their steady share (absent in results of older runs) */
    steady?: SteadyState;
    /** which app: "working tree", or the git ref measured as the baseline */
    app: string;
    /** default interval / shortened interval */
    timeScale: number;
    protectedProjects: number;
    /** budgets given to the app (each default times the time scale; none at the default interval) */
    budgetsEnv: Record<string, string>;
    /** building the fake GitLab's world, carding the deployments (ms) */
    buildMs: number;
    cardingMs: number;
    /** cards posted before measuring (should equal `cards`) */
    carded: number;
    timeline: { spawnAt: number; readyAt: number; requests: TimedRequest[] };
    peakRss: number | null;
    /** RSS just before the last interval ended (between sweeps, for an app that bursts) */
    rss: number | null;
    /** the whole scenario, world building included */
    totalMs: number;
  };

const PROJECT_GET = 'GET /projects/:id';

/** The app's slow cycles at their defaults (policy `sweep.classify_every`, `sweep.list_every`; not set here). */
export const DEFAULT_CLASSIFY_EVERY_MS = 86_400_000;
export const DEFAULT_LIST_EVERY_MS = 3_600_000;
/** Reads of the slow cycles: protected environments (classification) and the group listing (100 a page). */
const CLASSIFICATION_ROUTES = ['GET /projects/:id/protected_environments', 'GET /groups/:id/protected_environments'];
const LISTING_ROUTES = ['GET /groups/:id/projects'];

/**
 * The warm sweep in steady state at the default interval: what the measured warm sweeps spent on the slow cycles
 * (after a start, classification catches up at its own pace, hundreds of projects a sweep; at a shortened
 * interval the hourly listing falls into few sweeps) replaced by their steady share at the default interval:
 * every project classified once per `classify_every`, every page listed once per `list_every`.
 */
export type SteadyState = {
  /** measured per warm sweep: classification reads (catch-up included) and listing pages */
  classificationMeasured: number;
  listingMeasured: number;
  /** their steady share per sweep at the default interval */
  classificationSteady: number;
  listingSteady: number;
  perSweep: number;
  perMinuteAvg: number;
};

export function steadyState(
  f: Pick<ScaleFigures, 'warmByRoute' | 'warmPerSweep'>,
  projects: number,
  pageSize = 100,
): SteadyState {
  const sum = (routes: string[]) => routes.reduce((n, r) => n + (f.warmByRoute[r] ?? 0), 0);
  const classificationMeasured = sum(CLASSIFICATION_ROUTES);
  const listingMeasured = sum(LISTING_ROUTES);
  const classificationSteady = (projects * DEFAULT_SWEEP_MS) / DEFAULT_CLASSIFY_EVERY_MS;
  const listingSteady = (Math.ceil(projects / pageSize) * DEFAULT_SWEEP_MS) / DEFAULT_LIST_EVERY_MS;
  const perSweep = f.warmPerSweep - classificationMeasured - listingMeasured + classificationSteady + listingSteady;
  return {
    classificationMeasured,
    listingMeasured,
    classificationSteady,
    listingSteady,
    perSweep,
    perMinuteAvg: perSweep / (DEFAULT_SWEEP_MS / 60_000),
  };
}

/** `GET /api/v4/projects/12/deployments?status=blocked` -> `GET /projects/:id/deployments` */
export function routeOf(method: string, url: string): string {
  const path = url.split('?')[0]!.replace(/^\/api\/v4/, '');
  const segments = path.split('/');
  const normalised = segments.map((s, i) =>
    /^\d+$/.test(s) || s.includes('%') || (i > 0 && ['projects', 'groups'].includes(segments[i - 1]!)) ? ':id' : s,
  );
  return `${method} ${normalised.join('/')}`;
}

/**
 * N projects in one group (policy `groups:`), 5 % of them with protected environments that need an approval,
 * and `cards` deployments blocked on them, carded by the app through webhooks before measuring. Then the app
 * is restarted on its data and every GitLab request is timed for 1 + warmIntervals intervals: the first holds
 * the cold start (the start-up sweep with empty caches), the others the warm sweeps (see `analyse`).
 */
export async function runScale(
  ctx: BenchContext,
  sizes: ScaleSizes,
  name: string,
  app: string,
  /** settings for the measured app only (the carding one runs without budgets) */
  measuredEnv: Record<string, string> = {},
): Promise<ScaleResult> {
  const started = performance.now();
  const timeScale = DEFAULT_SWEEP_MS / sizes.intervalMs;
  const budgetsEnv: Record<string, string> =
    timeScale === 1
      ? {}
      : Object.fromEntries(
          Object.entries(DEFAULT_BUDGETS_PER_MIN).map(([k, v]) => [k, String(Math.round(v * timeScale))]),
        );
  const base = await startBenchWorld({ channels: sizes.channels });
  const observer = new HttpObserver();
  try {
    const { world, deployments, protectedIds, groupId } = buildScaleWorld(base, sizes, budgetsEnv);
    const protectedProjects = protectedIds.size;
    const buildMs = performance.now() - started;
    ctx.log(
      `${name} (${app}): ${sizes.projects} projects, ${protectedProjects} with approval rules, ` +
        `built in ${(buildMs / 1000).toFixed(1)} s; carding ${sizes.cards} deployments`,
    );

    // Every GitLab request is seen: while carding, which projects were classified; then, timed, the measured app's.
    const classified = new Set<number>();
    const requests: TimedRequest[] = [];
    let measuring = false;
    observer.served(world.gitlab.url, ({ method, url, at }) => {
      if (!measuring) {
        // (a project with a blocked deployment is classified by its hook, without a read: only the others count)
        const read = /^\/api\/v4\/projects\/(\d+)\/protected_environments(?:\?|$)/.exec(url);
        if (read && !protectedIds.has(Number(read[1]))) classified.add(Number(read[1]));
        return;
      }
      const listed = /^\/api\/v4\/projects\/(\d+)\/deployments(?:\?|$)/.exec(url);
      requests.push({ at, route: routeOf(method, url), project: listed ? Number(listed[1]) : null });
    });

    // Carding: a group hook brings every blocked deployment to the app (the start-up sweep may find some first).
    // This first process is a first start: it classifies every project (reads its protected environments). It runs
    // without GitLab budgets, so that it gets there in minutes instead of the hour that 50,000 projects take at the
    // sweep's default share; the measured restart then finds what a greenlight that has run a while has in Redis,
    // and none of the first start's work still queued.
    const cardingStarted = performance.now();
    const unbudgeted = Object.fromEntries(Object.keys(DEFAULT_BUDGETS_PER_MIN).map((k) => [k, '0']));
    const first = await startApp(
      ctx,
      { ...world, env: { ...world.env, ...unbudgeted } },
      { name: `${name}-carding`, role: 'all', settleMs: 0 },
    );
    let carded = 0;
    const unprotected = sizes.projects - protectedProjects;
    try {
      world.gitlab.addHook({
        groupId,
        url: `${first.url}/webhooks/gitlab`,
        token: WEBHOOK_SECRET,
        deploymentEvents: true,
      });
      for (const d of deployments) world.gitlab.createDeployment(d);
      carded = await waitForCards(world, sizes.cards, () => first.child.exited());
      await world.gitlab.webhooksIdle();
      await waitUntil(
        () => classified.size >= unprotected,
        () => classified.size,
        first.child.exited,
      );
      // (the sweep's spread jobs come and go: idle is a moment between them, looked for up to three intervals)
      await waitUntil(
        () => queuesIdle(first.url),
        () => 0,
        first.child.exited,
        Math.min(60_000, 3 * sizes.intervalMs),
      );
    } finally {
      await first.stop({ keepData: true });
    }
    const cardingMs = performance.now() - cardingStarted;
    ctx.log(
      `${name} (${app}): ${carded} cards, ${classified.size} of ${unprotected} projects without approval rules ` +
        `classified in ` +
        `${(cardingMs / 1000).toFixed(1)} s; measuring`,
    );
    // Webhooks from now on go nowhere useful (the first process is gone): the measured app gets the hook.
    // Nothing happens in GitLab while measuring, so no hook fires anyway.

    // Restart on the data of the first process; every GitLab request timed from the spawn on.
    measuring = true;
    const spawnAt = performance.now();
    const measured = await startApp(
      ctx,
      { ...world, env: { ...world.env, ...measuredEnv } },
      { name, role: 'all', settleMs: 0, prefix: first.prefix },
    );
    // the intervals count from readiness (when its workers run); what it asked while starting is cold too
    const readyAt = performance.now();
    const ends = Array.from({ length: sizes.warmIntervals + 1 }, (_, k) => readyAt + (k + 1) * sizes.intervalMs);
    const rssAtEnd: (number | null)[] = [];
    let stopped: { peakRss: number | null };
    try {
      for (const end of ends) {
        await sleep(end - performance.now() - 200);
        rssAtEnd.push(measured.child.rss());
        await sleep(end - performance.now());
        if (measured.child.exited()) throw new Error(`${name}: the app exited while measuring`);
      }
    } finally {
      stopped = await measured.stop();
    }
    const figures = analyse(requests, readyAt, sizes.intervalMs, sizes.warmIntervals, rssAtEnd, spawnAt);
    return {
      ...sizes,
      app,
      timeScale,
      protectedProjects,
      budgetsEnv,
      buildMs,
      cardingMs,
      carded,
      ...figures,
      steady: steadyState(figures, sizes.projects),
      // every measured request, so that the figures can be worked out again from the JSON (analyse)
      timeline: { spawnAt, readyAt, requests },
      peakRss: stopped.peakRss,
      rss: rssAtEnd.at(-1) ?? null,
      totalMs: performance.now() - started,
    };
  } finally {
    observer.close();
    await base.close();
  }
}

/** The group `scale` with its projects, protected environments and the deployments to create (not yet created). */
function buildScaleWorld(base: BenchWorld, sizes: ScaleSizes, budgetsEnv: Record<string, string>) {
  const { gitlab } = base;
  const group = gitlab.addGroup({ path: 'scale' });
  for (const user of [base.alice, base.bob, base.carol]) gitlab.addGroupMember(group.id, user.id, 40);
  const projects = gitlab.addProjects({ groupId: group.id, count: sizes.projects });
  const every = Math.round(1 / sizes.protectedShare);
  const protectedIds = projects.filter((_, i) => i % every === 0).map((p) => p.id);
  const deployments = Array.from({ length: sizes.cards }, (_, i) => {
    const projectId = protectedIds[i % protectedIds.length]!;
    const environment = `prod-${i % sizes.channels}-${i}`;
    gitlab.protectEnvironment(projectId, environment, { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
    return { projectId, environment, userId: base.bob.id, commitTitle: `Change ${i}` };
  });
  // Protected projects without a card still have a protected environment that needs an approval.
  for (const id of protectedIds.slice(sizes.cards))
    gitlab.protectEnvironment(id, 'production', { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
  const world: BenchWorld = {
    ...base,
    policy: `${base.policy}groups:\n  - scale\nsweep:\n  every: ${sizes.intervalMs}ms\n`,
    env: { ...base.env, ...budgetsEnv },
  };
  return { world, deployments, protectedIds: new Set(protectedIds), groupId: group.id };
}

/** Cards posted (top-level messages carrying a deployment id), waiting until all or nothing moved for 60 s. */
async function waitForCards(world: BenchWorld, expected: number, exited: () => boolean): Promise<number> {
  const count = () =>
    world.channels.reduce(
      (n, channel) =>
        n + world.slack.messages(channel).filter((m) => m.metadata?.event_payload?.deployment_id !== undefined).length,
      0,
    );
  let last = -1;
  let movedAt = performance.now();
  for (;;) {
    const n = count();
    if (n >= expected || exited()) return n;
    if (n !== last) {
      last = n;
      movedAt = performance.now();
    } else if (performance.now() - movedAt > 60_000) return n;
    await sleep(250);
  }
}

/**
 * Resolves once `done` holds, or when `progress` has not moved for `stallMs` (the run then goes on with what there
 * is) or the app exited.
 */
async function waitUntil(
  done: () => boolean | Promise<boolean>,
  progress: () => number,
  exited: () => boolean,
  stallMs = 60_000,
): Promise<void> {
  let last = -1;
  let movedAt = performance.now();
  while (!(await done()) && !exited()) {
    const n = progress();
    if (n !== last) {
      last = n;
      movedAt = performance.now();
    } else if (performance.now() - movedAt > stallMs) return;
    await sleep(250);
  }
}

/** No job waiting or running in the app's queues but the sweep's own (from its /metrics: greenlight_queue_jobs). */
async function queuesIdle(url: string): Promise<boolean> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const busy = [...text.matchAll(/^greenlight_queue_jobs\{queue="([^"]+)",state="(waiting|active)"\} (\d+)/gm)]
    .filter(([, queue]) => queue !== 'sweep')
    .reduce((n, m) => n + Number(m[3]), 0);
  return busy === 0;
}

export type TimedRequest = { at: number; route: string; project: number | null };

/** What the measured run's requests say, intervals counted from `spawnAt` (the app ready; performance.now() ms). */
export type ScaleFigures = {
  /** the first interval after the start, or (when the sweeps burst) the start's activity up to the first quiet */
  cold: ScaleSlot;
  /** the intervals after the first */
  warm: ScaleSlot[];
  /** what the warm figures average: the complete warm bursts (pace burst), or the intervals after the first */
  warmSweeps: ScaleSlot[];
  warmPerSweep: number;
  warmByRoute: Record<string, number>;
  pace: 'burst' | 'spread';
  perMinuteAvg: number;
  busiestMinute: number;
  projectGetPerMinuteAvg: number;
  projectGetBusiestMinute: number;
  /** the longest warm sweep (a burst from its first to its last request), or the interval when they spread */
  sweepMs: number;
  /** from the start to the last request of the start's activity (bursts), or the interval */
  coldSweepMs: number;
  /** the start's activity went on into the warm intervals (their figures then include some of it) */
  coldSpill: boolean;
};

/**
 * Requests per interval come from fixed intervals after the first (any interval-long window of a periodic
 * load holds one period's worth, whatever its phase). Sweeps are found as bursts: runs of requests separated
 * by a quiet of at least a tenth of the interval (2 to 10 s). When every complete warm burst ended within half
 * the interval, the sweep bursts at a pace of its own, which does not depend on the interval: its busiest
 * minute is the busiest 60 s of run time within one burst. Otherwise it spreads over its interval, which runs
 * `DEFAULT_SWEEP_MS / intervalMs` times faster than at the default: a minute is a fifth of the interval.
 */
export function analyse(
  unsorted: TimedRequest[],
  spawnAt: number,
  intervalMs: number,
  warmIntervals: number,
  rssAtEnd: (number | null)[] = [],
  /** the process start, when before `spawnAt` (its readiness): requests from then on count into the cold start */
  startedAt = spawnAt,
): ScaleFigures {
  const requests = [...unsorted].sort((a, b) => a.at - b.at);
  const end = spawnAt + (warmIntervals + 1) * intervalMs;
  const gapMs = Math.min(10_000, Math.max(2_000, intervalMs / 10));
  const bursts: TimedRequest[][] = [];
  for (const r of requests) {
    if (r.at < startedAt || r.at >= end) continue;
    const last = bursts.at(-1);
    if (last && r.at - last.at(-1)!.at < gapMs) last.push(r);
    else bursts.push([r]);
  }
  const windows = Array.from({ length: warmIntervals + 1 }, (_, k) => {
    const from = k === 0 ? startedAt : spawnAt + k * intervalMs;
    const to = spawnAt + (k + 1) * intervalMs;
    return slotOf(
      requests.filter((r) => r.at >= from && r.at < to),
      from,
      to,
      intervalMs,
      rssAtEnd[k] ?? null,
    );
  });
  const [firstWindow, ...warm] = windows as [ScaleSlot, ...ScaleSlot[]];
  // complete warm bursts: after the start's activity, and over before the measurement ended
  const warmBursts = bursts.slice(1).filter((b) => b.at(-1)!.at < end - gapMs);
  const duration = (b: TimedRequest[]) => b.at(-1)!.at - b[0]!.at;
  // Bursts are sweeps only when they are whole ones: each over within half the interval, and together about as
  // many requests as the warm intervals hold. A few stragglers after a quiet (the tail of the start's backlog)
  // next to a sweep that runs on to the end of the measurement are not a sweep: the app then spreads.
  const warmWindowAvg = warm.reduce((n, w) => n + w.requests, 0) / Math.max(warm.length, 1);
  const burstAvg = warmBursts.reduce((n, b) => n + b.length, 0) / Math.max(warmBursts.length, 1);
  const pace =
    warmBursts.length > 0 && Math.max(...warmBursts.map(duration)) <= intervalMs / 2 && burstAvg >= warmWindowAvg / 2
      ? 'burst'
      : 'spread';
  const startBurst = bursts[0] ?? [];
  const cold =
    pace === 'burst' && startBurst.length > 0
      ? slotOf(startBurst, startedAt, startBurst.at(-1)!.at, intervalMs, rssAtEnd[0] ?? null)
      : firstWindow;
  // Bursts: each complete warm burst is one sweep. Otherwise the intervals after the first.
  const perSweep = pace === 'burst' ? warmBursts.map((b) => slotOf(b, b[0]!.at, b.at(-1)!.at, intervalMs, null)) : warm;
  const avg = (f: (s: ScaleSlot) => number) => perSweep.reduce((n, s) => n + f(s), 0) / perSweep.length;
  const warmByRoute: Record<string, number> = {};
  for (const w of perSweep)
    for (const [route, n] of Object.entries(w.byRoute)) warmByRoute[route] = (warmByRoute[route] ?? 0) + n;
  for (const route of Object.keys(warmByRoute)) warmByRoute[route]! /= perSweep.length;
  const isProjectGet = (r: TimedRequest) => r.route === PROJECT_GET;
  const busiest = (only: (r: TimedRequest) => boolean) =>
    pace === 'burst'
      ? Math.max(
          0,
          ...bursts.map((b) =>
            busiestWindow(
              b.filter(only).map((r) => r.at),
              60_000,
            ),
          ),
        )
      : Math.max(
          0,
          ...windows.map((w, k) =>
            busiestBucket(
              requests.filter((r) => only(r) && r.at >= w.start && r.at < w.start + w.ms).map((r) => r.at),
              spawnAt + k * intervalMs,
              intervalMs / 5,
            ),
          ),
        );
  const minutes = DEFAULT_SWEEP_MS / 60_000;
  return {
    cold,
    warm,
    warmSweeps: perSweep,
    warmPerSweep: avg((w) => w.requests),
    warmByRoute,
    pace,
    perMinuteAvg: avg((w) => w.requests) / minutes,
    busiestMinute: busiest(() => true),
    projectGetPerMinuteAvg: avg((w) => w.byRoute[PROJECT_GET] ?? 0) / minutes,
    projectGetBusiestMinute: busiest(isProjectGet),
    sweepMs: pace === 'burst' ? Math.max(...warmBursts.map(duration)) : intervalMs,
    coldSweepMs: pace === 'burst' && startBurst.length > 0 ? startBurst.at(-1)!.at - startedAt : intervalMs,
    coldSpill: startBurst.length > 0 && startBurst.at(-1)!.at >= spawnAt + intervalMs,
  };
}

function slotOf(slot: TimedRequest[], start: number, end: number, intervalMs: number, rssAtEnd: number | null) {
  const byRoute: Record<string, number> = {};
  const listed = new Set<number>();
  for (const r of slot) {
    byRoute[r.route] = (byRoute[r.route] ?? 0) + 1;
    if (r.project !== null) listed.add(r.project);
  }
  const at = slot.map((r) => r.at);
  return {
    start,
    ms: end - start,
    requests: slot.length,
    byRoute,
    projectsListed: listed.size,
    activeMs: at.length ? at.at(-1)! - start : 0,
    busiestRealMinute: busiestWindow(at, 60_000),
    busiestScaledMinute: busiestBucket(at, start, intervalMs / 5),
    rssAtEnd,
  };
}

/** Most of the sorted times within any window of `ms` (sliding). */
export function busiestWindow(sorted: number[], ms: number): number {
  let best = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to += 1) {
    while (sorted[to]! - sorted[from]! >= ms) from += 1;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

/** Most of the times in one of the fixed buckets [start + k·ms, start + (k+1)·ms). */
export function busiestBucket(times: number[], start: number, ms: number): number {
  const buckets = new Map<number, number>();
  for (const t of times) {
    const k = Math.floor((t - start) / ms);
    buckets.set(k, (buckets.get(k) ?? 0) + 1);
  }
  return Math.max(0, ...buckets.values());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
