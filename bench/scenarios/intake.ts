import { join } from 'node:path';
import { startApp, REPO_ROOT, type BenchContext } from '../lib/app.ts';
import { startChild } from '../lib/child.ts';
import { runFixedRate, runMaxThroughput, type LoadResult, type MakeRequest } from '../lib/load.ts';
import { startBenchWorld, WEBHOOK_SECRET, type BenchWorld } from '../lib/world.ts';

export type IntakeSizes = {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  rate: number;
  rateDurationMs: number;
};

export type IntakeTarget = {
  max: LoadResult;
  rate: LoadResult;
  idleRss: number | null;
  peakRss: number | null;
  cpuMsPer1k: number | null;
};
export type IntakeResult = {
  sizes: IntakeSizes;
  bodyBytes: number;
  bare: IntakeTarget;
  web: IntakeTarget;
  /** ROLE=all at the fixed rate: the same webhooks while the workers process them */
  all: { rate: LoadResult; idleRss: number | null; peakRss: number | null; gitlabReadsDuringRun: number };
};

const ID_MARK = 987654321;

/**
 * A real Deployment Hook body as the fake GitLab builds it (status blocked), with a distinct deployment_id per request.
 */
function deploymentHookRequests(world: BenchWorld): { make: MakeRequest; bodyBytes: number } {
  world.gitlab.holdWebhooks();
  world.gitlab.addHook({
    projectId: world.project.id,
    url: 'http://127.0.0.1:9/webhooks/gitlab',
    token: WEBHOOK_SECRET,
    deploymentEvents: true,
  });
  world.gitlab.createDeployment({
    projectId: world.project.id,
    environment: 'production',
    userId: world.bob.id,
    commitTitle: 'Benchmark intake',
  });
  const delivery = world.gitlab.deliveries.find((d) => d.event === 'Deployment Hook');
  if (!delivery) throw new Error('the fake GitLab built no Deployment Hook');
  const [head, tail] = JSON.stringify({ ...delivery.payload, deployment_id: ID_MARK }).split(String(ID_MARK)) as [
    string,
    string,
  ];
  const run = Date.now().toString(36);
  let seq = 0;
  // Every request of every run is a new delivery: its own Idempotency-Key and deployment id.
  const make: MakeRequest = () => {
    seq += 1;
    return {
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'GitLab/19.3.0',
        'X-Gitlab-Event': 'Deployment Hook',
        'X-Gitlab-Token': WEBHOOK_SECRET,
        'Idempotency-Key': `bench-${run}-${seq}`,
        // A client address per request, as from many GitLab hosts behind a proxy. The app believes it only
        // from TRUSTED_PROXIES (unset here), and deliveries with the secret are never rate-limited either way.
        // One GitLab's bursts from one address are what the cards scenarios measure.
        'X-Forwarded-For': `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`,
      },
      body: Buffer.from(`${head}${1_000_000 + seq}${tail}`),
    };
  };
  return { make, bodyBytes: Buffer.byteLength(`${head}${1_000_000}${tail}`) };
}

async function drive(url: string, make: MakeRequest, sizes: IntakeSizes) {
  const target = { url, path: '/webhooks/gitlab' };
  const warmup = await runMaxThroughput(target, {
    concurrency: sizes.concurrency,
    durationMs: sizes.warmupMs,
    warmupMs: 0,
    make,
  });
  const max = await runMaxThroughput(target, {
    concurrency: sizes.concurrency,
    durationMs: sizes.durationMs,
    warmupMs: 0,
    make,
  });
  const rate = await runFixedRate(target, { rate: sizes.rate, durationMs: sizes.rateDurationMs, maxSockets: 64, make });
  return { max, rate, requests: warmup.completed + max.completed + rate.completed };
}

/**
 * POST /webhooks/gitlab as fast as a fixed number of keep-alive connections allow, then at a fixed rate,
 * against (1) a bare node:http server, (2) the app with ROLE=web; then (3) ROLE=all at the fixed rate.
 */
export async function runIntake(ctx: BenchContext, sizes: IntakeSizes): Promise<IntakeResult> {
  const world = await startBenchWorld();
  try {
    const { make, bodyBytes } = deploymentHookRequests(world);

    ctx.log(`intake: bare node:http server, ${sizes.concurrency} connections`);
    const bareChild = await startChild({
      script: 'bench/bare-server.ts',
      cwd: REPO_ROOT,
      env: {},
      logFile: join(ctx.dir, 'bare-server.log'),
      readyPath: '/',
    });
    const bareIdle = bareChild.rss();
    let cpu0 = bareChild.cpuMs();
    const bareRuns = await drive(bareChild.url, make, sizes);
    const bare: IntakeTarget = {
      max: bareRuns.max,
      rate: bareRuns.rate,
      idleRss: bareIdle,
      peakRss: bareChild.peakRss(),
      cpuMsPer1k: perThousand(bareChild.cpuMs(), cpu0, bareRuns),
    };
    await bareChild.stop();

    ctx.log('intake: app ROLE=web');
    const web = await startApp(ctx, world, { name: 'intake-web', role: 'web', settleMs: sizes.warmupMs });
    cpu0 = web.child.cpuMs();
    const webRuns = await drive(web.url, make, sizes);
    const webCpu = web.child.cpuMs();
    const webStop = await web.stop();
    const webResult: IntakeTarget = {
      max: webRuns.max,
      rate: webRuns.rate,
      idleRss: web.idleRss,
      peakRss: webStop.peakRss,
      cpuMsPer1k: perThousand(webCpu, cpu0, webRuns),
    };

    ctx.log('intake: app ROLE=all (workers process every webhook)');
    const all = await startApp(ctx, world, { name: 'intake-all', role: 'all', settleMs: sizes.warmupMs });
    const readsBefore = world.gitlab.requests.length;
    const rate = await runFixedRate(
      { url: all.url, path: '/webhooks/gitlab' },
      { rate: sizes.rate, durationMs: sizes.rateDurationMs, maxSockets: 64, make },
    );
    const gitlabReadsDuringRun = world.gitlab.requests.length - readsBefore;
    const allStop = await all.stop();
    return {
      sizes,
      bodyBytes,
      bare,
      web: webResult,
      all: { rate, idleRss: all.idleRss, peakRss: allStop.peakRss, gitlabReadsDuringRun },
    };
  } finally {
    await world.close();
  }
}

function perThousand(after: number | null, before: number | null, runs: { requests: number }): number | null {
  if (after === null || before === null) return null;
  return ((after - before) / runs.requests) * 1000;
}
