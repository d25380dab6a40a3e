import type { Config } from '../config/load.ts';
import type { Logger } from '../core/ports.ts';
import type { Metrics } from '../adapters/metrics/metrics.ts';
import type { Producer, Queues } from '../adapters/queue/queues.ts';
import type { HttpRoute } from '../entrypoints/http/app.ts';
import { createRejectionLog } from '../entrypoints/http/rejection-log.ts';
import type { Sweeper } from '../entrypoints/workers/sweeper.ts';
import { createAdapters } from './adapters.ts';
import { createInfrastructure } from './infrastructure.ts';
import { createHttpServer } from './lifecycle.ts';
import type { GreenlightOptions } from './options.ts';
import { opsApp, startWeb } from './web.ts';
import { startWorkerRole } from './workers.ts';

export type { GreenlightOptions } from './options.ts';

export type Greenlight = {
  logger: Logger;
  config: Config;
  /** Resolves once this instance serves (web: its queues' connection is ready before it listens). */
  start(): Promise<void>;
  /** Graceful: stop accepting, finish in-flight work, close workers, queues and Redis. */
  stop(): Promise<void>;
  /** base URL of the HTTP server once started (web role) */
  url(): string | null;
  producer: Producer;
  /** every queue but the sweep's (declarations.ts) */
  queues: Queues;
  /** this instance's Prometheus registry (GET /metrics) */
  metrics: Metrics;
  /** the sweep's queue and trigger (worker role) */
  sweeper(): Sweeper | null;
  /** every HTTP route this instance serves (the Helm chart's ingress is checked against it) */
  routes(): HttpRoute[];
};

/** The composition root: config -> infrastructure -> adapters -> web and/or workers. */
export async function createGreenlight(config: Config, opts: GreenlightOptions = {}): Promise<Greenlight> {
  const infra = createInfrastructure(config, opts);
  const adapters = createAdapters(config, infra, opts);
  const { logger } = infra;
  const rejections = createRejectionLog(logger);
  const server = createHttpServer({ port: config.port, logger, rejections });
  let stopWeb: (() => Promise<void>) | null = null;
  let workers: Awaited<ReturnType<typeof startWorkerRole>> | null = null;
  return {
    logger,
    config,
    producer: infra.producer,
    queues: infra.queues,
    metrics: infra.metrics,
    async start() {
      if (config.role !== 'worker') {
        stopWeb = await startWeb({ config, infra, adapters, server, rejections }, opts);
      } else {
        // ROLE=worker still answers /healthz, /readyz and /metrics (probes and Prometheus), nothing else.
        const port = await server.listen(opsApp({ config, infra }));
        logger.info({ port, role: config.role }, 'greenlight worker health and metrics listening');
        stopWeb = () => server.close();
      }
      if (config.role !== 'web') workers = await startWorkerRole(config, infra, adapters, opts);
    },
    async stop() {
      if (stopWeb) await stopWeb();
      // Redis unreachable: no job in flight can finish (finishing one writes to Redis); don't wait for them.
      const force = infra.redis.status !== 'ready';
      if (workers) await workers.close(force);
      await infra.close(force);
      logger.info({}, 'greenlight stopped');
    },
    sweeper: () => workers?.sweeper ?? null,
    routes: () => server.routes(),
    url: () => server.url(),
  };
}
