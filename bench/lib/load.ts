import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Samples, summarize, type Summary } from './stats.ts';

/** One request of a load run: headers and body; the generator adds Content-Length. */
export type MakeRequest = (i: number) => { headers: Record<string, string>; body: Buffer };

export type LoadResult = {
  mode: 'max' | 'rate';
  concurrency: number;
  /** target rate (rate mode) */
  rate: number | null;
  durationMs: number;
  completed: number;
  errors: number;
  statuses: Record<string, number>;
  rps: number;
  /** request sent -> response complete */
  latency: Summary;
  /** rate mode: intended send time -> response complete (includes any wait for a free connection) */
  scheduledLatency: Summary | null;
};

type Target = { url: string; path: string };

function sendOne(
  agent: Agent,
  target: Target,
  req: { headers: Record<string, string>; body: Buffer },
): Promise<number> {
  return new Promise((resolve) => {
    const r = request(
      target.url + target.path,
      { method: 'POST', agent, headers: { ...req.headers, 'Content-Length': String(req.body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    r.on('error', () => resolve(0));
    r.end(req.body);
  });
}

function statusKey(status: number): string {
  return status === 0 ? 'error' : String(status);
}

/**
 * Closed loop at fixed concurrency: `concurrency` keep-alive connections, each sending its next request as
 * soon as the previous answer is in, for `durationMs` after a `warmupMs` that is not recorded.
 */
export async function runMaxThroughput(
  target: Target,
  opts: { concurrency: number; durationMs: number; warmupMs: number; make: MakeRequest },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency, maxFreeSockets: opts.concurrency });
  const latency = new Samples();
  const statuses: Record<string, number> = {};
  let seq = 0;
  let completed = 0;
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + opts.warmupMs;
  const end = measureFrom + opts.durationMs;
  let measuredStart = Number.NaN;
  let measuredEnd = measureFrom;
  const loop = async () => {
    for (;;) {
      const sentAt = performance.now();
      if (sentAt >= end) return;
      const status = await sendOne(agent, target, opts.make(seq++));
      const doneAt = performance.now();
      if (sentAt < measureFrom) continue;
      if (Number.isNaN(measuredStart)) measuredStart = sentAt;
      measuredEnd = Math.max(measuredEnd, doneAt);
      completed += 1;
      statuses[statusKey(status)] = (statuses[statusKey(status)] ?? 0) + 1;
      if (status === 0 || status >= 400) errors += 1;
      latency.push(doneAt - sentAt);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  agent.destroy();
  const window = measuredEnd - measureFrom;
  return {
    mode: 'max',
    concurrency: opts.concurrency,
    rate: null,
    durationMs: window,
    completed,
    errors,
    statuses,
    rps: (completed / window) * 1000,
    latency: summarize(latency.values()),
    scheduledLatency: null,
  };
}

/**
 * Open loop at a fixed rate: request i is due at start + i/rate whatever the answers do, so a slow server
 * shows up as latency (measured from the due time too) instead of as a lower request rate.
 */
export async function runFixedRate(
  target: Target,
  opts: { rate: number; durationMs: number; maxSockets: number; make: MakeRequest },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets });
  const total = Math.round((opts.rate * opts.durationMs) / 1000);
  const interval = 1000 / opts.rate;
  const latency = new Samples();
  const scheduled = new Samples();
  const statuses: Record<string, number> = {};
  let completed = 0;
  let errors = 0;
  let lastDone = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now() + 5;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const due = start + next * interval;
        const sentAt = performance.now();
        pending.push(
          sendOne(agent, target, opts.make(next)).then((status) => {
            const doneAt = performance.now();
            lastDone = Math.max(lastDone, doneAt);
            completed += 1;
            statuses[statusKey(status)] = (statuses[statusKey(status)] ?? 0) + 1;
            if (status === 0 || status >= 400) errors += 1;
            latency.push(doneAt - sentAt);
            scheduled.push(doneAt - due);
          }),
        );
        next += 1;
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
      else resolve();
    };
    setTimeout(tick, 5);
  });
  await Promise.all(pending);
  agent.destroy();
  const window = lastDone - start;
  return {
    mode: 'rate',
    concurrency: opts.maxSockets,
    rate: opts.rate,
    durationMs: window,
    completed,
    errors,
    statuses,
    rps: (completed / window) * 1000,
    latency: summarize(latency.values()),
    scheduledLatency: summarize(scheduled.values()),
  };
}
