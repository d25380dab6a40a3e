import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver } from '@slack/bolt';
import type { DestinationStream } from 'pino';
import type { Config } from './config/load.ts';
import type { Clock, IdentityPort, Logger } from './core/ports.ts';
import { createProjectDirectory } from './adapters/gitlab/projects.ts';
import { createGitLabReader } from './adapters/gitlab/reader.ts';
import { createSudoIdentity } from './adapters/identity/sudo-identity.ts';
import { createLogger } from './adapters/logging/logger.ts';
import { createProducer, createQueues, QUEUE, type Producer, type Queues } from './adapters/queue/queues.ts';
import { createCardStore } from './adapters/redis/card-store.ts';
import { createRedis, keyspace } from './adapters/redis/connection.ts';
import { createSweepState } from './adapters/redis/sweep-state.ts';
import { createSlackChat } from './adapters/slack/chat.ts';
import { createSlackWebClient } from './adapters/slack/web.ts';
import { createHttpApp, finishHttpApp } from './entrypoints/http/app.ts';
import { gitlabWebhookRouter } from './entrypoints/http/gitlab-webhook.ts';
import { perIpRateLimit, RATE_LIMITS, type RateLimitName, type RateLimitRule } from './entrypoints/http/rate-limit.ts';
import { boltLogger } from './entrypoints/slack/bolt-logger.ts';
import { registerCardActions } from './entrypoints/slack/listeners/card-actions.ts';
import { helpText, registerCommand } from './entrypoints/slack/listeners/command.ts';
import { registerRejectModal } from './entrypoints/slack/listeners/reject-modal.ts';
import { slackProcessEventErrorHandler } from './entrypoints/slack/receiver-errors.ts';
import { startSweeper, type Sweeper } from './entrypoints/workers/sweeper.ts';
import { DECISION_WINDOW_MS, startWorkers, type WorkerSettings, type Workers } from './entrypoints/workers/workers.ts';

/** Slack's own payloads are far smaller; Bolt's default would be 4 MB. */
const SLACK_BODY_LIMIT = 1024 * 1024;

export type GreenlightOptions = {
  /** where logs go (tests capture them); stdout by default */
  logDestination?: DestinationStream;
  clock?: Clock;
  workerSettings?: WorkerSettings;
  /** Bolt's wait for ack() (default 3001 ms, Slack's deadline) */
  slackAckTimeoutMs?: number;
  /** per-IP limits of the public endpoints (defaults: RATE_LIMITS) */
  rateLimits?: Partial<Record<RateLimitName, RateLimitRule>>;
};

export type Greenlight = {
  logger: Logger;
  config: Config;
  start(): Promise<void>;
  /** Graceful: stop accepting, finish in-flight work, close workers, queues and Redis. */
  stop(): Promise<void>;
  /** base URL of the HTTP server once started (web role) */
  url(): string | null;
  producer: Producer;
  queues: Queues;
  /** the sweep's queue and trigger (worker role) */
  sweeper(): Sweeper | null;
};

/** The composition root: config -> logger -> adapters -> web and/or workers. */
export async function createGreenlight(config: Config, opts: GreenlightOptions = {}): Promise<Greenlight> {
  const logger = createLogger({
    level: config.logLevel,
    ...(opts.logDestination && { destination: opts.logDestination }),
    secrets: [config.gitlab.token, config.gitlab.webhookSecret, config.slack.botToken, config.slack.signingSecret ?? '', config.slack.appToken ?? '', config.gitlab.oauth?.clientSecret ?? ''],
  });
  const clock: Clock = opts.clock ?? { now: () => Date.now() };
  const keys = keyspace(config.redisPrefix);
  const redis = createRedis(config.redisUrl, 'commands');
  const queueConnection = createRedis(config.redisUrl, 'commands');
  const workerConnection = config.role === 'web' ? null : createRedis(config.redisUrl, 'bullmq');
  for (const [name, conn] of [['commands', redis], ['queues', queueConnection], ['workers', workerConnection]] as const) {
    conn?.on('error', (error: Error) => logger.warn({ connection: name, err: error.message }, 'redis connection error'));
  }

  const queues = createQueues(queueConnection, keys.bullPrefix);
  // Without a listener BullMQ prints connection errors to stderr during a Redis outage.
  for (const name of Object.values(QUEUE)) queues[name].on('error', (error: Error) => logger.warn({ queue: name, err: error.message }, 'queue connection error'));
  const producer = createProducer(queues);
  const cards = createCardStore(redis, keys);
  const gitlabConn = { url: config.gitlab.url, token: config.gitlab.token };
  const gitlab = createGitLabReader(gitlabConn);
  const slackClient = createSlackWebClient({ token: config.slack.botToken, apiUrl: config.slack.apiUrl });
  const chat = createSlackChat(slackClient);
  const identity: IdentityPort = createSudoIdentity({ gitlab, slack: chat, policy: config.policy, conn: gitlabConn, logger });

  let server: Server | null = null;
  let workers: Workers | null = null;
  let bolt: App | null = null;
  let sweeper: Sweeper | null = null;

  const startWeb = async () => {
    const http = createHttpApp({ logger, ready: async () => (await redis.ping()) === 'PONG' });
    const limits = { ...RATE_LIMITS, ...opts.rateLimits };
    http.use('/webhooks/gitlab', perIpRateLimit('webhooks', limits.webhooks, logger));
    http.use('/slack/events', perIpRateLimit('slack', limits.slack, logger));
    http.use('/oauth', perIpRateLimit('oauth', limits.oauth, logger));
    http.use(gitlabWebhookRouter({ secret: config.gitlab.webhookSecret, logger, enqueue: (event, key) => producer.enqueueWebhook(event, key) }));
    const receiver = new ExpressReceiver({
      signingSecret: config.slack.signingSecret ?? '',
      app: http,
      endpoints: '/slack/events',
      processBeforeResponse: false,
      bodyLimit: SLACK_BODY_LIMIT,
      processEventErrorHandler: slackProcessEventErrorHandler(logger),
      logger: boltLogger(logger),
      ...(opts.slackAckTimeoutMs !== undefined && { unhandledRequestTimeoutMillis: opts.slackAckTimeoutMs }),
    });
    bolt = new App({
      receiver,
      token: config.slack.botToken,
      logger: boltLogger(logger),
      deferInitialization: true,
      clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 0 } },
    });
    await bolt.init();
    registerCardActions(bolt, { producer, cards, logger });
    registerRejectModal(bolt, { producer, logger });
    registerCommand(bolt, {
      command: config.slack.command,
      logger,
      subcommands: {
        whoami: async ({ command }) => {
          const r = await identity.resolve({ teamId: command.team_id, userId: command.user_id });
          if (r.kind === 'linked') return `greenlight acts for you as GitLab user *@${r.identity.gitlab.username}* (${r.identity.gitlab.name}), found by ${r.identity.via === 'policy' ? 'the policy file' : r.identity.via === 'email' ? 'your e-mail address' : 'your linked account'}. Mode: ${config.gitlab.authMode}.`;
          return 'greenlight does not know your GitLab account yet: ask an admin to add you to `users:` in the policy file, or make your Slack e-mail match your GitLab e-mail.';
        },
      },
      list: async () => helpText(config.slack.command),
    });
    bolt.error(async (error) => {
      logger.error({ err: error.message }, 'slack listener failed');
    });
    finishHttpApp(http, logger);
    await new Promise<void>((resolve, reject) => {
      server = http.listen(config.port, () => resolve());
      server.once('error', reject);
    });
    server!.keepAliveTimeout = 65_000;
    logger.info({ port: (server!.address() as AddressInfo).port, role: config.role }, 'greenlight web listening');
  };

  const startWorkerRole = async () => {
    workers = startWorkers(
      {
        gitlab,
        producer,
        chat,
        sync: { gitlab, cards, chat, identity, policy: config.policy, clock, logger },
        decide: { gitlab, identity, cards, queue: producer, policy: config.policy, logger },
        rememberProject: async (projectId) => {
          await redis.sadd(keys.knownProjects, String(projectId));
        },
        linkMode: identity.linkHint,
        command: config.slack.command,
        decisionWindowMs: DECISION_WINDOW_MS,
      },
      {
        connection: workerConnection!,
        prefix: keys.bullPrefix,
        logger,
        settings: { stallTimeoutMs: config.workerStallTimeoutMs, ...opts.workerSettings },
        pauseQueue: (name, ms) => queues[name].rateLimit(ms),
      },
    );
    const projects = createProjectDirectory(gitlabConn, gitlab);
    const state = createSweepState(redis, keys, cards);
    sweeper = await startSweeper({
      deps: {
        sources: { ...state, projectId: projects.projectId, groupProjectIds: projects.groupProjectIds },
        queue: producer,
        policy: config.policy,
      },
      everyMs: config.policy.sweepEveryMs,
      queueConnection,
      workerConnection: workerConnection!,
      prefix: keys.bullPrefix,
      logger,
      stallTimeoutMs: opts.workerSettings?.stallTimeoutMs ?? config.workerStallTimeoutMs,
    });
    logger.info({ role: config.role }, 'greenlight workers started');
  };

  return {
    logger,
    config,
    producer,
    queues,
    async start() {
      if (config.role !== 'worker') await startWeb();
      if (config.role !== 'web') await startWorkerRole();
    },
    async stop() {
      const s = server as Server | null;
      if (s) {
        await new Promise<void>((resolve) => {
          // Requests in flight are answered; a keep-alive connection is closed as soon as it falls idle
          // (once is not enough: one that is busy now would otherwise hold the server open for keepAliveTimeout).
          const idle = setInterval(() => s.closeIdleConnections(), 50);
          s.close(() => {
            clearInterval(idle);
            resolve();
          });
          s.closeIdleConnections();
        });
      }
      if (workers) await workers.close();
      if (sweeper) await sweeper.close();
      await queues.close();
      for (const conn of [redis, queueConnection, workerConnection]) conn?.disconnect();
      logger.info({}, 'greenlight stopped');
    },
    sweeper: () => sweeper,
    url() {
      const s = server as Server | null;
      const address = s?.address();
      return address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : null;
    },
  };
}
