import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults } from './bench.ts';
import { REPO_ROOT } from './lib/app.ts';
import type { LoadResult } from './lib/load.ts';
import { RESYNC_ROUTES, type CardsResult } from './scenarios/cards.ts';
import { fmtInt, fmtMb, fmtMs } from './lib/stats.ts';
import type { ScaleResult } from './scenarios/scale.ts';

const MB = 1024 * 1024;
export const TARGETS = {
  idleRss: 120 * MB,
  peakRss: 250 * MB,
  intakeP99Ms: 10,
  forgedGrowth: 10 * MB,
} as const;

export type Verdict = { what: string; target: string; measured: string; ok: boolean | null };

const mark = (ok: boolean | null) => (ok === null ? '–' : ok ? 'met' : '**not met**');
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const rss = (idle: number | null, peak: number | null) => `${fmtMb(idle)} → ${fmtMb(peak)}`;

function describeCards(c: CardsResult): string {
  return (
    `${fmtInt(c.deployments)} in ${fmtInt(c.channels)} ` +
    `channels${c.paced ? ', Slack paced' : ''}${c.events === 'all' ? ', all hook events' : ''}` +
    (c.changes ? `, changes summary ${c.changes.summary}${c.changes.history ? ' (with history)' : ''}` : '')
  );
}

/** The targets of issue 9, judged on this run. */
export function verdicts(r: BenchResults): Verdict[] {
  const apps = [...(r.intake ? [r.intake.web, r.intake.all] : []), ...r.cards.map((c) => c.result)];
  const how = `\`${r.app.command}\`${r.app.shipped ? ', as shipped' : ''}`;
  const idle =
    r.idle.find((i) => i.command === r.app.command)?.rss ?? r.cards[0]?.result.idleRss ?? r.intake?.all.idleRss ?? null;
  const peaks = apps.map((a) => a.peakRss ?? 0);
  const peak = peaks.length ? Math.max(...peaks) : null;
  const out: Verdict[] = [
    {
      what: `Idle RSS (ROLE=all, ${how}, ten-channel policy)`,
      target: '< 120 MB',
      measured: fmtMb(idle),
      ok: idle === null ? null : idle < TARGETS.idleRss,
    },
    {
      what: 'Peak RSS under the loads below (highest of the intake and cards runs)',
      target: '< 250 MB',
      measured: fmtMb(peak),
      ok: peak === null ? null : peak < TARGETS.peakRss,
    },
  ];
  if (r.intake) {
    const { bare, web } = r.intake;
    const q = web.max.rps / bare.max.rps;
    out.push({
      what: 'Webhook intake throughput (ROLE=web ÷ bare node:http)',
      // retired by issue 16 (GitLab sends at most a few hundred hooks a second): shown, no longer judged
      target: '– (retired: p99 at 1,000 req/s below)',
      measured: `${ratio(q)} (${fmtInt(web.max.rps)} ÷ ${fmtInt(bare.max.rps)} req/s)`,
      ok: null,
    });
    out.push({
      what: `Webhook intake p99 at ${fmtInt(r.intake.sizes.rate)} req/s (ROLE=web)`,
      target: '< 10 ms',
      measured:
        `${fmtMs(web.rate.latency.p99)} (from the due time: ` +
        `${fmtMs(web.rate.scheduledLatency?.p99 ?? Number.NaN)})`,
      ok: web.rate.latency.p99 < TARGETS.intakeP99Ms,
    });
  }
  if (r.forged) {
    const f = r.forged;
    const growth = f.afterRss !== null && f.baselineRss !== null ? f.afterRss - f.baselineRss : null;
    out.push({
      what: `RSS growth after ${fmtInt(f.sizes.requests)} forged webhooks with random headers (ROLE=web)`,
      target: '< 10 MB',
      measured: growth === null ? 'n/a' : `${fmtMb(growth)} (${rss(f.baselineRss, f.afterRss)})`,
      ok: growth === null ? null : growth < TARGETS.forgedGrowth,
    });
  }
  const paced = r.cards
    .map((c) => c.result)
    .filter((c) => c.paced && c.minimumMs)
    .sort((a, b) => b.deployments - a.deployments)[0];
  if (paced) {
    const q = paced.drainMs / paced.minimumMs!;
    const what =
      `Drain of ${fmtInt(paced.deployments)} cards in ${paced.channels} ` +
      'channels with Slack at 1 message/s per channel (÷ the pacing minimum)';
    if (paced.lost > 0)
      out.push({ what, target: 'close to 1×', measured: `n/a: ${fmtInt(paced.lost)} cards missing`, ok: false });
    else
      out.push({
        what,
        target: 'close to 1×',
        measured: `${ratio(q)} (${fmtMs(paced.drainMs)} ÷ ${fmtMs(paced.minimumMs!)})`,
        ok: q <= 1.25,
      });
  }
  const dup = r.cards.reduce((n, c) => n + c.result.duplicates, 0);
  const lost = r.cards.reduce((n, c) => n + c.result.lost, 0);
  const total = r.cards.reduce((n, c) => n + c.result.deployments, 0);
  out.push({
    what: `Cards: duplicates / lost (of ${fmtInt(total)} deployments)`,
    target: '0 / 0',
    measured: `${dup} / ${lost}`,
    ok: dup === 0 && lost === 0,
  });
  return out;
}

function intakeRow(
  name: string,
  t: {
    max: LoadResult | null;
    rate: LoadResult;
    cpuMsPer1k: number | null;
    idleRss: number | null;
    peakRss: number | null;
  },
): string {
  const errors = (t.max?.errors ?? 0) + t.rate.errors;
  return row([
    name,
    t.max ? fmtInt(t.max.rps) : '–',
    t.max ? fmtMs(t.max.latency.p50) : '–',
    t.max ? fmtMs(t.max.latency.p99) : '–',
    `${fmtInt(t.rate.rps)}`,
    fmtMs(t.rate.latency.p50),
    fmtMs(t.rate.latency.p99),
    fmtMs(t.rate.scheduledLatency?.p99 ?? Number.NaN),
    String(errors),
    t.cpuMsPer1k === null ? 'n/a' : `${t.cpuMsPer1k.toFixed(0)} µs`,
    rss(t.idleRss, t.peakRss),
  ]);
}

function bottleneck(c: CardsResult): string {
  const notes: string[] = [];
  if (c.minimumMs && c.drainMs <= 1.3 * c.minimumMs) notes.push('1 message/s per channel');
  if (c.events === 'deployment' && Number.isFinite(c.webhooksDoneMs) && c.webhooksDoneMs >= 0.8 * c.drainMs && !c.paced)
    notes.push('webhook delivery (one at a time) bounds the drain');
  if (c.fakesElu > 0.8) notes.push('the fakes were saturated');
  return notes.join('; ') || '–';
}

export function renderReport(r: BenchResults): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push('# Benchmarks', '');
  lines.push(
    `*Rewritten by \`npm run bench\`${r.smoke ? ' (smoke sizes: not meaningful numbers)' : ''}; ` +
      'see [bench/](bench/) and "How it is measured" below.*',
    '',
  );
  lines.push(
    `Measured ${m.date} on ${m.cpu}, ${m.cores} cores, ${m.ramGb.toFixed(0)} ` +
      `GB RAM (${m.os}); Node ${m.node}, Redis ${m.redis}; code ${m.commit}. ` +
      `Load average at start / end: ${m.loadStart.toFixed(1)} / ` +
      `${m.loadEnd.toFixed(1)}. Whole run: ${fmtMs(r.durationMs)}.`,
    '',
  );
  lines.push(
    `The app runs as ${r.app.shipped ? 'it ships' : 'in development'}: ` +
      `\`${r.app.command}\`` +
      `${r.app.shipped ? ' (`npm run build`, then the node options of `npm start` and the Dockerfile)' : ''}, ` +
      'in every table but the last.',
    '',
  );
  lines.push(
    'Absolute numbers on a shared machine are noise; compare the ' +
      'ratios, which are measured side by side in the same run. ' +
      'The app, the load generator with the fakes, and Redis share the cores listed above.',
    '',
  );

  lines.push('## Targets', '');
  lines.push(row(['what', 'target', 'measured', '']), row(['---', '---', '---', '---']));
  for (const v of verdicts(r)) lines.push(row([v.what, v.target, v.measured, mark(v.ok)]));
  lines.push('');

  if (r.intake) {
    const i = r.intake;
    lines.push('## Webhook intake: POST /webhooks/gitlab', '');
    lines.push(
      `Real Deployment Hook bodies (${fmtInt(i.bodyBytes)} bytes) as the fake GitLab builds them, ` +
        'valid token, a distinct Idempotency-Key and deployment id each, keep-alive connections. ' +
        `Max throughput: ${i.sizes.concurrency} connections, each sending as soon as the previous ` +
        `answer is in, for ${fmtMs(i.sizes.durationMs)} after a ${fmtMs(i.sizes.warmupMs)} warm-up. ` +
        `Fixed rate: ${fmtInt(i.sizes.rate)} req/s for ${fmtMs(i.sizes.rateDurationMs)} ` +
        '(open loop; "from due time" also counts any wait for a free connection). ' +
        "CPU per request is the process's user + system time (/proc) divided by its requests.",
      '',
    );
    lines.push(
      row([
        'server',
        'max req/s',
        'p50',
        'p99',
        `req/s at ${fmtInt(i.sizes.rate)}/s`,
        'p50',
        'p99',
        'p99 from due time',
        'errors',
        'CPU per request',
        'RSS idle → peak',
      ]),
    );
    lines.push(row(Array(11).fill('---')));
    lines.push(intakeRow('bare node:http (baseline)', i.bare));
    lines.push(intakeRow('greenlight ROLE=web', i.web));
    lines.push(
      intakeRow('greenlight ROLE=all (workers handle each webhook)', {
        max: null,
        rate: i.all.rate,
        cpuMsPer1k: null,
        idleRss: i.all.idleRss,
        peakRss: i.all.peakRss,
      }),
    );
    lines.push('');
    lines.push(
      `Ratios: throughput ${ratio(i.web.max.rps / i.bare.max.rps)} of the bare server; CPU per request ` +
        `${ratio((i.web.cpuMsPer1k ?? Number.NaN) / (i.bare.cpuMsPer1k ?? Number.NaN))} the bare server's. ` +
        `With ROLE=all the same webhooks at ${fmtInt(i.sizes.rate)}/s are ` +
        'also processed by the workers (each one a sync that reads GitLab: ' +
        `${fmtInt(i.all.gitlabReadsDuringRun)} GitLab reads during the run); ` +
        `the web answers then share the event loop and Redis with them (statuses: ${Object.entries(i.all.rate.statuses)
          .map(([k, v]) => `${k}×${v}`)
          .join(', ')}).`,
      '',
    );
  }

  if (r.cards.length > 0) {
    lines.push('## Cards end to end', '');
    lines.push(
      'N deployments become blocked at once in the fake GitLab (19.3+ webhook mode; the ' +
        'hook points at the app, ROLE=all, and subscribes to deployment events unless noted). ' +
        'Each deployment has a protected environment of its own (a newer deployment to the same ' +
        'environment supersedes an older one), `prod-<k>-*` routed by the policy file to channel k. ' +
        'Latency: deployment created → its card stored at the fake Slack. Before each run ' +
        'the app posts a few cards elsewhere to warm up, as a running service would be. ' +
        'The app posts at most one message per second per channel, as Slack asks: ' +
        'unpaced runs give each card a channel of its own, so they measure the pipeline. ' +
        '"Slack paced": ten channels, and the fake Slack also enforces 1 chat.postMessage per ' +
        'second per channel (429 + Retry-After beyond); the minimum is (cards per channel − 1) s. ' +
        '"fakes busy": event-loop utilisation of the bench process that runs both fakes.',
      '',
    );
    lines.push(
      row([
        'deployments',
        'p50',
        'p95',
        'p99',
        'drain',
        'minimum',
        'drain ÷ min',
        'webhooks answered by',
        'webhook → card p50 / p99',
        'cards (dup / lost)',
        '429s',
        'GitLab req. per card',
        'Slack calls per card',
        'app CPU per card',
        'fakes busy',
        'RSS idle → peak',
        'bottleneck',
      ]),
    );
    lines.push(row(Array(17).fill('---')));
    for (const { result: c } of r.cards) {
      const answered =
        c.deliveriesAnswered < c.deliveries ? ` (${fmtInt(c.deliveriesAnswered)} of ${fmtInt(c.deliveries)})` : '';
      const failed = c.deliveriesFailed > 0 ? `, **${fmtInt(c.deliveriesFailed)} failed or dropped**` : '';
      lines.push(
        row([
          describeCards(c),
          fmtMs(c.latency.p50),
          fmtMs(c.latency.p95),
          fmtMs(c.latency.p99),
          fmtMs(c.drainMs),
          c.minimumMs === null ? '–' : fmtMs(c.minimumMs),
          c.minimumMs ? ratio(c.drainMs / c.minimumMs) : '–',
          `${fmtMs(c.webhooksDoneMs)}${answered}${failed}`,
          `${fmtMs(c.webhookToCard.p50)} / ${fmtMs(c.webhookToCard.p99)}`,
          `${fmtInt(c.cards)} (${c.duplicates} / ${c.lost})`,
          fmtInt(c.rateLimited),
          (c.gitlabRequests / c.deployments).toFixed(1),
          (c.slackCalls / c.deployments).toFixed(1),
          c.appCpuMs === null ? 'n/a' : fmtMs(c.appCpuMs / c.deployments),
          `${(c.fakesElu * 100).toFixed(0)} %`,
          rss(c.idleRss, c.peakRss),
          bottleneck(c),
        ]),
      );
    }
    lines.push('');
    const warnings = r.cards.flatMap(({ name, result }) =>
      Object.entries(result.appWarnings).map(([msg, n]) => `${name}: "${msg}" ×${n}`),
    );
    if (warnings.length) lines.push(`App warnings and errors logged: ${warnings.join('; ')}.`, '');

    const resyncs = r.cards.filter((c) => c.result.resynced);
    if (resyncs.length) {
      lines.push('## Cards synced again', '');
      lines.push(
        'After the run, the app is restarted on its Redis data and its start-up sweep syncs every open card again, ' +
          'as every sweep does (the scan of the project asks for the same syncs): GitLab requests per sync (a sync ' +
          'reads its deployment once), by what they read. The new process starts with cold in-process caches, as ' +
          'a sweep minutes later finds most of them; "re-read by": from the restart until every card was synced.',
        '',
      );
      lines.push(row(['run', 'syncs', 'GitLab req. per sync', ...RESYNC_ROUTES, 're-read by']));
      lines.push(row(Array(RESYNC_ROUTES.length + 4).fill('---')));
      for (const { result: c } of resyncs) {
        const k = c.resynced!;
        lines.push(
          row([
            describeCards(c),
            fmtInt(k.syncs),
            k.total.toFixed(2),
            ...RESYNC_ROUTES.map((route) => k.perSync[route].toFixed(2)),
            fmtMs(k.ms),
          ]),
        );
      }
      lines.push('');
    }

    const clicks = r.cards.filter((c) => c.result.click);
    if (clicks.length) {
      lines.push('## Click to approval', '');
      lines.push(
        'Approve clicked on a card (signed block_actions from the fake ' +
          'Slack driver, alternating two approvers), one click at a time: ' +
          'until the app answers Slack (ack), and until the fake GitLab has ' +
          'answered the approval POST, made as the clicker with the Sudo header.',
        '',
      );
      lines.push(
        row(['clicks', 'ack p50', 'ack p99', 'click → approval p50', 'p95', 'p99', 'max', 'missing', 'RSS peak']),
      );
      lines.push(row(Array(9).fill('---')));
      for (const { result } of clicks) {
        const k = result.click!;
        lines.push(
          row([
            fmtInt(k.clicks),
            fmtMs(k.ack.p50),
            fmtMs(k.ack.p99),
            fmtMs(k.toApproval.p50),
            fmtMs(k.toApproval.p95),
            fmtMs(k.toApproval.p99),
            fmtMs(k.toApproval.max),
            String(k.missing),
            fmtMb(k.peakRss),
          ]),
        );
      }
      lines.push('');
    }
  }

  if (r.forged) {
    const f = r.forged;
    lines.push('## Forged webhooks: POST /webhooks/gitlab without the secret', '');
    lines.push(
      `${fmtInt(f.sizes.requests)} requests, ${f.sizes.concurrency} at a time, each with a wrong X-Gitlab-Token and ` +
        'random X-Gitlab-Event, X-Forwarded-For, Idempotency-Key and other headers; measured ' +
        `${f.sizes.settleMs} ms after the last one, against the same process after ${fmtInt(f.sizes.warmup)} such ` +
        `requests (started at ${fmtMb(f.startRss)}: the first load compiles code and grows V8's heap).`,
      '',
    );
    lines.push(row(['RSS before → after', 'GET /metrics bytes before → after', 'answers', 'log lines']));
    lines.push(row(['---', '---', '---', '---']));
    lines.push(
      row([
        rss(f.baselineRss, f.afterRss),
        `${fmtInt(f.metricsBytes.before)} → ${fmtInt(f.metricsBytes.after)}`,
        Object.entries(f.statuses)
          .map(([status, n]) => `${status}: ${fmtInt(n)}`)
          .join(', '),
        fmtInt(f.logLines),
      ]),
      '',
    );
  }

  if (r.scale.length > 0)
    lines.push(
      ...renderScale(
        r.scale.map((s) => s.result),
        r.machine,
      ),
    );

  const shippedRun = r.cards.find((c) => c.name === 'cards-1000');
  if (r.production.length > 0) {
    lines.push('## Memory by way of running the app', '');
    lines.push(
      'The same 1,000 deployments at once (as in the cards table), with the app ' +
        'started the way it ships (`npm run build`, then `npm start` or the Dockerfile: ' +
        `\`${r.app.command}\`, as in every table above), the way the tests ` +
        `and \`npm run dev\` do (\`node src/main.ts\`: Node strips the types ` +
        `at load time), and built but with V8's defaults (no node options).`,
      '',
    );
    lines.push(
      row([
        'app process',
        'idle RSS',
        'RSS before the cards (1,000-route policy)',
        'peak RSS',
        'drain',
        'app CPU per card',
      ]),
      row(Array(6).fill('---')),
    );
    const runs = [
      ...(shippedRun ? [{ name: 'shipped', command: r.app.command, result: shippedRun.result }] : []),
      ...r.production,
    ];
    for (const { name, command, result } of runs) {
      const idle = r.idle.find((i) => i.command === command)?.rss ?? null;
      const note =
        name === 'shipped' ? ' (npm start, Dockerfile)' : name.startsWith('dev') ? ' (npm run dev, tests)' : '';
      lines.push(
        row([
          `\`${command}\`${note}`,
          fmtMb(idle),
          fmtMb(result.idleRss),
          fmtMb(result.peakRss),
          fmtMs(result.drainMs),
          result.appCpuMs === null ? 'n/a' : fmtMs(result.appCpuMs / result.deployments),
        ]),
      );
    }
    lines.push(
      '',
      'Idle: started with the ten-channel policy and left alone for 2 s. The ' +
        'unpaced runs need a route per channel; parsing 1,000 routes leaves ' +
        "V8's heap grown by 20–40 MB (the routes themselves take about 1 MB).",
      '',
    );
  }

  const notes = join(REPO_ROOT, 'bench', 'NOTES.md');
  if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8').trim(), '');
  return lines.join('\n') + '\n';
}

export const SCALE_HEADING = '## Sweep at scale';

/** Issue 17: what the sweep of N projects costs at GitLab, scaled to the default interval (bench/NOTES.md). */
export function renderScale(results: ScaleResult[], m: BenchResults['machine']): string[] {
  const lines = [SCALE_HEADING, ''];
  lines.push(
    `*Measured ${m.date} (code ${m.commit}; load average at start ${m.loadStart.toFixed(1)}), ` +
      'rewritten by `npm run bench -- --only scale --splice`.*',
    '',
  );
  lines.push(
    'N projects in one group named by the policy (`groups:`), every 20th with protected environments that ' +
      'need one approval, deployments blocked on them (the open cards) and carded (through a group hook), ' +
      'every project classified, before measuring (the carding process is a first start). The app is then ' +
      'restarted on its data and every request it makes to the fake GitLab is timed for one interval (cold: ' +
      'the start-up sweep, empty caches) and then one more, or three with `--scale-interval` (warm). ' +
      'Where the sweep allows, the interval is shortened (policy `sweep.every`) and the GitLab budgets ' +
      '(`GITLAB_*RATE_LIMIT`) raised by the same factor; per minute means per minute at the default ' +
      '5-minute interval: a sweep that bursts (done within half its interval) is counted in minutes of ' +
      'run time, one that fills its interval in fifths of it ("Sweep at scale" in the notes below). ' +
      'Sweep: a burst of requests from its first to its last; start: from the process start to the first ' +
      'quiet (cold: what it asked until then). ' +
      'RSS: just before the last interval ended, and the peak.',
    '',
  );
  lines.push(
    row([
      'app',
      'N',
      'open cards',
      'requests/sweep warm / cold',
      'req/min avg',
      'steady req/min avg (classification, listing per sweep: measured → steady)',
      'busiest minute',
      'GET /projects/:id per min avg / busiest',
      'projects listed per sweep',
      'sweep warm / start',
      'RSS / peak',
      'interval (× scale), pace',
      'run',
    ]),
    row(Array(13).fill('---')),
  );
  for (const s of results) {
    const cards = s.carded === s.cards ? fmtInt(s.cards) : `${fmtInt(s.carded)} of ${fmtInt(s.cards)}`;
    // (results of runs before warmSweeps existed: their warm intervals)
    const sweeps = (s.warmSweeps as ScaleResult['warmSweeps'] | undefined) ?? s.warm;
    const warmListed = Math.max(0, ...sweeps.map((w) => w.projectsListed));
    lines.push(
      row([
        s.app,
        fmtInt(s.projects),
        cards,
        `${fmtInt(s.warmPerSweep)} / ${fmtInt(s.cold.requests)}`,
        fmtInt(s.perMinuteAvg),
        s.steady
          ? `${fmtInt(s.steady.perMinuteAvg)} (${fmtInt(s.steady.classificationMeasured)} → ` +
            `${fmtInt(s.steady.classificationSteady)}, ${fmtInt(s.steady.listingMeasured)} → ` +
            `${fmtInt(s.steady.listingSteady)})`
          : 'n/a',
        fmtInt(s.busiestMinute),
        `${fmtInt(s.projectGetPerMinuteAvg)} / ${fmtInt(s.projectGetBusiestMinute)}`,
        `${fmtInt(warmListed)} / ${fmtInt(s.cold.projectsListed)} cold`,
        `${s.pace === 'spread' ? 'fills the interval' : fmtMs(s.sweepMs)} / ${fmtMs(s.coldSweepMs)}` +
          (s.coldSpill ? ' (the start ran into the warm intervals)' : ''),
        `${fmtMb(s.rss)} / ${fmtMb(s.peakRss)}`,
        `${fmtMs(s.intervalMs)} (×${s.timeScale.toFixed(1)}), ${s.pace}`,
        fmtMs(s.totalMs),
      ]),
    );
  }
  lines.push('', 'Warm requests per sweep by route (ids as `:id`; routes under 1 per sweep left out):', '');
  const routes = [...new Set(results.flatMap((s) => Object.keys(s.warmByRoute)))]
    .filter((route) => results.some((s) => (s.warmByRoute[route] ?? 0) >= 1))
    .sort(
      (a, b) =>
        Math.max(...results.map((s) => (s.warmByRoute[b] ?? 0) - (s.warmByRoute[a] ?? 0))) || a.localeCompare(b),
    );
  lines.push(
    row(['route', ...results.map((s) => `${s.app}, N = ${fmtInt(s.projects)}`)]),
    row(Array(results.length + 1).fill('---')),
  );
  for (const route of routes)
    lines.push(row([`\`${route}\``, ...results.map((s) => fmtInt(s.warmByRoute[route] ?? 0))]));
  lines.push('');
  return lines;
}

/**
 * `existing` with the spliceable sections of `report` (the scale table) put in place of the same sections, or
 * before the notes ("## How it is measured") when it has none: `--only scale --splice` keeps the other tables.
 */
export function spliceSections(existing: string, report: string): string {
  let out = existing;
  for (const heading of [SCALE_HEADING]) {
    const section = sectionOf(report, heading);
    if (section === null) continue;
    const old = sectionOf(out, heading);
    if (old !== null) out = out.replace(old, section);
    else {
      const at = out.indexOf('\n## How it is measured');
      out = at < 0 ? `${out.trimEnd()}\n\n${section}` : `${out.slice(0, at + 1)}${section}${out.slice(at + 1)}`;
    }
  }
  return out;
}

function sectionOf(text: string, heading: string): string | null {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) return null;
  const next = text.indexOf('\n## ', start + 1);
  return text.slice(start + 1, next < 0 ? text.length : next + 1);
}
