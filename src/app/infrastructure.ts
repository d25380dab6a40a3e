import type { Redis } from 'ioredis';
import type { Config } from '../config/load.ts';
import type { Clock, Logger } from '../core/ports.ts';
import { createLogger } from '../adapters/logging/logger.ts';
import { createMetrics, type Metrics } from '../adapters/metrics/metrics.ts';
import { createQueueFactory, type QueueFactory } from '../adapters/queue/factory.ts';
import { createPersonalProducer, type PersonalProducer } from '../adapters/queue/personal-queue.ts';
import { createProducer, createQueues, type Producer, type Queues } from '../adapters/queue/queues.ts';
import { createRedis, keyspace, levelOf, watchReconnects, type Keyspace } from '../adapters/redis/connection.ts';
import { createOpenCardStats } from '../adapters/redis/open-card-stats.ts';
import type { GreenlightOptions } from './options.ts';

/** Logger, Redis connections, every queue (declarations.ts) and this process's metrics. */
export type Infrastructure = {
  logger: Logger;
  clock: Clock;
  keys: Keyspace;
  redis: Redis;
  queueConnection: Redis;
  /** the blocking connection of the workers (null in ROLE=web) */
  workerConnection: Redis | null;
  factory: QueueFactory;
  queues: Queues;
  producer: Producer;
  personal: PersonalProducer;
  metrics: Metrics;
  /** `force`: workers without waiting for their jobs (see QueueFactory.close) */
  close(force?: boolean): Promise<void>;
};

export function createInfrastructure(config: Config, opts: GreenlightOptions): Infrastructure {
  const logger = createLogger({
    level: config.logLevel,
    ...(opts.logDestination && { destination: opts.logDestination }),
    secrets: [
      config.gitlab.token,
      config.gitlab.webhookSecret,
      config.slack.botToken,
      config.slack.signingSecret ?? '',
      config.slack.appToken ?? '',
      config.gitlab.oauth?.clientSecret ?? '',
      config.slack.oauth?.clientSecret ?? '',
      ...config.encryptionKeys.map((k) => k.key.toString('base64')),
    ],
  });
  const clock: Clock = opts.clock ?? { now: () => Date.now() };
  const keys = keyspace(config.redisPrefix);
  const target = { url: config.redisUrl, mode: config.redisMode };
  // Redis unreachable: one line per reconnect attempt of this connection (see watchReconnects), not one per connection
  const reconnects = watchReconnects(logger);
  const redis = createRedis(target, 'commands', {}, reconnects.onRetry);
  reconnects.watch(redis);
  const queueConnection = createRedis(target, 'commands');
  const workerConnection = config.role === 'web' ? null : createRedis(target, 'bullmq');
  for (const [name, conn] of [
    ['queues', queueConnection],
    ['workers', workerConnection],
  ] as const) {
    conn?.on('error', (error: Error) =>
      logger[levelOf(error, 'warn')]({ connection: name, err: error.message }, 'redis connection error'),
    );
  }
  let metrics: Metrics | null = null;
  const factory = createQueueFactory({
    connection: queueConnection,
    workerConnection,
    prefix: keys.bullPrefix,
    logger,
    stallTimeoutMs: opts.workerSettings?.stallTimeoutMs ?? config.workerStallTimeoutMs,
    ...(opts.workerSettings?.concurrency && { concurrency: opts.workerSettings.concurrency }),
    observe: (worker) => metrics?.observeWorkers([worker], logger),
  });
  metrics = createMetrics({
    role: config.role,
    sources: { queueCounts: () => factory.counts(), ...createOpenCardStats(redis, keys), now: () => clock.now() },
  });
  const queues = createQueues(factory);
  return {
    logger,
    clock,
    keys,
    redis,
    queueConnection,
    workerConnection,
    factory,
    queues,
    producer: createProducer(queues),
    personal: createPersonalProducer(queues.personal),
    metrics,
    async close(force = false) {
      await factory.close(force);
      for (const conn of [redis, queueConnection, workerConnection]) conn?.disconnect();
    },
  };
}
