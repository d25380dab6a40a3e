import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp, type BenchContext } from '../lib/app.ts';
import { startBenchWorld } from '../lib/world.ts';

export type ForgedSizes = { requests: number; warmup: number; concurrency: number; settleMs: number };
export type ForgedResult = {
  sizes: ForgedSizes;
  /** RSS (bytes) once started */
  startRss: number | null;
  /** RSS after `warmup` forged requests (code compiled, heap grown to its working size): the baseline */
  baselineRss: number | null;
  /** RSS after `requests` more forged requests (and the settle time) */
  afterRss: number | null;
  /** size of GET /metrics before and after */
  metricsBytes: { before: number; after: number };
  statuses: Record<string, number>;
  /** log lines the flood cost */
  logLines: number;
};

const randomText = (bytes: number) => randomBytes(bytes).toString('base64url');

/** One forged POST /webhooks/gitlab: wrong token, and random values in every header a caller controls. */
function forge(url: string): Promise<number> {
  const body = Buffer.from(JSON.stringify({ object_kind: randomText(8), junk: randomText(64) }));
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/webhooks/gitlab`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'x-gitlab-token': randomText(24),
          'x-gitlab-event': `${randomText(12)} Hook`,
          'x-gitlab-instance': `https://${randomText(10)}.example`,
          'x-gitlab-webhook-uuid': randomText(16),
          'idempotency-key': randomText(16),
          'user-agent': `GitLab/${randomText(6)}`,
          'x-forwarded-for': [...randomBytes(4)].join('.'),
          [`x-${randomText(6).toLowerCase()}`]: randomText(20),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const metricsSize = async (url: string) => (await (await fetch(`${url}/metrics`)).text()).length;

/**
 * Issue 14's memory attack: unauthenticated webhooks with random headers (answered 401 or 429) must not grow the
 * process. The app (ROLE=web, as shipped) gets `requests` forged webhooks; its RSS after them (and after a settle
 * time, so that garbage is collected as it would be) is compared with its RSS before, in the same run.
 */
export async function runForged(ctx: BenchContext, sizes: ForgedSizes): Promise<ForgedResult> {
  const world = await startBenchWorld();
  try {
    const app = await startApp(ctx, world, { name: 'forged-webhooks', role: 'web', settleMs: 1_000 });
    const startRss = app.child.rss();
    const statuses: Record<string, number> = {};
    const send = async (count: number) => {
      let sent = 0;
      const worker = async () => {
        while (sent < count) {
          sent += 1;
          const status = String(await forge(app.url));
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      };
      await Promise.all(Array.from({ length: sizes.concurrency }, worker));
      await sleep(sizes.settleMs);
    };
    // The same requests first warm the process up (JIT, V8's heap at its working size): growth is measured from
    // there, so that it shows what the requests leave behind, not what any first load costs.
    await send(sizes.warmup);
    const before = await metricsSize(app.url);
    const lines = () => readFileSync(app.child.logFile, 'utf8').split('\n').filter(Boolean).length;
    const linesBefore = lines();
    const baselineRss = app.child.rss();
    for (const key of Object.keys(statuses)) delete statuses[key];
    await send(sizes.requests);
    const afterRss = app.child.rss();
    const after = await metricsSize(app.url);
    const logLines = lines() - linesBefore;
    await app.stop();
    return { sizes, startRss, baselineRss, afterRss, metricsBytes: { before, after }, statuses, logLines };
  } finally {
    await world.close();
  }
}
