import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App } from '@slack/bolt';
import type { Express, Request } from 'express';
import type { DestinationStream } from 'pino';
import type { Config } from './config/load.ts';
import type { Clock, Logger } from './core/ports.ts';
import { createMembership } from './adapters/gitlab/membership.ts';
import { createProjectAccess } from './adapters/gitlab/project-access.ts';
import { createChannelMembers } from './adapters/slack/channel-members.ts';
import type { VisibilityPort } from './core/visibility/can-see.ts';
import { createProjectDirectory } from './adapters/gitlab/projects.ts';
import { createGitLabOAuthClient } from './adapters/gitlab/oauth-client.ts';
import { createGitLabReader } from './adapters/gitlab/reader.ts';
import { createChangesReader } from './adapters/gitlab/changes-reader.ts';
import { createChangesStore } from './adapters/redis/changes-store.ts';
import { registerChangesModal } from './entrypoints/slack/listeners/changes-modal.ts';
import type { ChangesDeps } from './core/cards/changes-summary.ts';
import type { IdentityAdapter } from './adapters/identity/account.ts';
import { createLinkStart } from './adapters/identity/link-start.ts';
import { createLinkStore } from './adapters/identity/link-store.ts';
import { createOAuthIdentity } from './adapters/identity/oauth-identity.ts';
import { createSudoIdentity } from './adapters/identity/sudo-identity.ts';
import { createTokenCipher } from './adapters/identity/token-cipher.ts';
import { createLogger } from './adapters/logging/logger.ts';
import { createNudgeTimer } from './adapters/queue/nudge-timer.ts';
import { createPersonalQueue } from './adapters/queue/personal-queue.ts';
import { observedSlackFetch } from './adapters/metrics/api-observer.ts';
import { createMetrics, type Metrics } from './adapters/metrics/metrics.ts';
import {
  createProducer,
  createQueues,
  QUEUE,
  type Producer,
  type QueueName,
  type Queues,
} from './adapters/queue/queues.ts';
import { createAuditLog } from './adapters/redis/audit-log.ts';
import { createCardStore } from './adapters/redis/card-store.ts';
import { createChannelPacer } from './adapters/redis/channel-pacer.ts';
import { createNudgeStore } from './adapters/redis/nudge-store.ts';
import { createRedis, keyspace } from './adapters/redis/connection.ts';
import { createLatestDeployments } from './adapters/redis/latest-deployments.ts';
import { createDataGuard, createLossMemory, type DataGuard } from './adapters/redis/data-guard.ts';
import { repairLostCards } from './core/cards/repair-lost-cards.ts';
import { cardChannels } from './core/routing/route-deployment.ts';
import { createProjectMemory, createSweepState } from './adapters/redis/sweep-state.ts';
import { createProjectDirectoryStore } from './adapters/redis/project-directory.ts';
import { noteHook } from './core/intake/note-hook.ts';
import { createPendingIndex } from './adapters/redis/pending-index.ts';
import { createPersonalStore } from './adapters/redis/personal-store.ts';
import { createSlackChat } from './adapters/slack/chat.ts';
import { createNudgeChat } from './adapters/slack/nudge-chat.ts';
import { pacePostMessages } from './adapters/slack/paced-posts.ts';
import { nextNudgeFor, type NudgeDeps } from './core/reminders/track-nudges.ts';
import { createDirectMessages, createPersonalChat, directText } from './adapters/slack/personal.ts';
import { createSlackWebClient } from './adapters/slack/web.ts';
import { createSlackSignIn } from './adapters/slack/sign-in.ts';
import { createHttpApp, finishHttpApp, listRoutes, type HttpRoute } from './entrypoints/http/app.ts';
import { createWebhookIntake, WEBHOOK_PATH, type WebhookIntake } from './entrypoints/http/gitlab-webhook.ts';
import { oauthRouter, SLACK_CALLBACK_PATH } from './entrypoints/http/oauth-routes.ts';
import { perIpRateLimit, RATE_LIMITS, type RateLimitName, type RateLimitRule } from './entrypoints/http/rate-limit.ts';
import { trustProxies } from './entrypoints/http/client-address.ts';
import { createRejectionLog } from './entrypoints/http/rejection-log.ts';
import { accountSubcommands } from './entrypoints/slack/listeners/account-commands.ts';
import { boltLogger } from './entrypoints/slack/bolt-logger.ts';
import { registerApproveModal } from './entrypoints/slack/listeners/approve-modal.ts';
import { createSlackReceiver } from './entrypoints/slack/receiver.ts';
import { registerCardActions } from './entrypoints/slack/listeners/card-actions.ts';
import { helpText, registerCommand } from './entrypoints/slack/listeners/command.ts';
import { registerHome } from './entrypoints/slack/listeners/home.ts';
import {
  listSubcommand,
  registerPendingList,
  type PendingListDeps,
} from './entrypoints/slack/listeners/pending-list.ts';
import { registerRejectModal } from './entrypoints/slack/listeners/reject-modal.ts';
import { registerSnooze } from './entrypoints/slack/listeners/snooze.ts';
import { startPersonalWorker } from './entrypoints/workers/personal-worker.ts';
import { startSweeper, type Sweeper } from './entrypoints/workers/sweeper.ts';
import { processIntake, type ProcessorDeps } from './entrypoints/workers/processors.ts';
import {
  createWebhookLog,
  startWebhookConsumer,
  type WebhookConsumer,
  type WebhookLog,
} from './adapters/queue/webhook-stream.ts';
import { DECISION_WINDOW_MS, startWorkers, type WorkerSettings, type Workers } from './entrypoints/workers/workers.ts';
import type { LinkTarget } from './core/personal/ports.ts';
import { secureEquals } from './lib/secure-compare.ts';

export type GreenlightOptions = {
  /** where logs go (tests capture them); stdout by default */
  logDestination?: DestinationStream;
  clock?: Clock;
  workerSettings?: WorkerSettings;
  /** Bolt's wait for ack() (default 3001 ms, Slack's deadline) */
  slackAckTimeoutMs?: number;
  /** chat.postMessage pacing per channel (default 1100 ms apart; waits over 1500 ms delay the job) */
  slackPacing?: { intervalMs?: number; maxSleepMs?: number };
  /** how often the worker role checks that Redis kept greenlight's data (default 30 s; see data-guard.ts) */
  dataCheckEveryMs?: number;
  /** per-IP limits of the public endpoints (defaults: RATE_LIMITS) */
  rateLimits?: Partial<Record<RateLimitName, RateLimitRule>>;
  /** longest wait between two of a sweep's jobs (default 1 s; they spread over 80 % of the sweep interval) */
  sweepMaxGapMs?: number;
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
  /** GitLab's webhook deliveries not handled yet (a Redis stream, see webhook-stream.ts) */
  webhooks: WebhookLog;
  /** this instance's Prometheus registry (GET /metrics) */
  metrics: Metrics;
  /** the sweep's queue and trigger (worker role) */
  sweeper(): Sweeper | null;
  /** every HTTP route this instance serves (the Helm chart's ingress is checked against it) */
  routes(): HttpRoute[];
};

/** After Redis lost its data, open cards this recent are looked for in Slack and synced again. */
const LOST_CARDS_WINDOW_MS = 14 * 86_400_000;

/** The composition root: config -> logger -> adapters -> web and/or workers. */
export async function createGreenlight(config: Config, opts: GreenlightOptions = {}): Promise<Greenlight> {
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
  const redisTarget = { url: config.redisUrl, mode: config.redisMode };
  const redis = createRedis(redisTarget, 'commands');
  const queueConnection = createRedis(redisTarget, 'commands');
  const workerConnection = config.role === 'web' ? null : createRedis(redisTarget, 'bullmq');
  for (const [name, conn] of [
    ['commands', redis],
    ['queues', queueConnection],
    ['workers', workerConnection],
  ] as const) {
    conn?.on('error', (error: Error) =>
      logger.warn({ connection: name, err: error.message }, 'redis connection error'),
    );
  }

  const queues = createQueues(queueConnection, keys.bullPrefix);
  // Without a listener BullMQ prints connection errors to stderr during a Redis outage.
  for (const name of Object.values(QUEUE))
    queues[name].on('error', (error: Error) =>
      logger.warn({ queue: name, err: error.message }, 'queue connection error'),
    );
  const producer = createProducer(queues);
  // GitLab's deliveries, from the web role to the workers (a Redis stream; see webhook-stream.ts)
  const webhookLog = createWebhookLog(queueConnection, keys);
  const cards = createCardStore(redis, keys);
  const metrics = createMetrics({
    role: config.role,
    sources: {
      queueCounts: async () => {
        const all = [
          ...Object.values(QUEUE).map((name) => [name, queues[name]] as const),
          ['personal', personalQueue.queue] as const,
        ];
        const entries = await Promise.all(
          all.map(async ([name, queue]) => {
            // the sweep's jobs wait with a priority (BullMQ's `prioritized`): they are waiting jobs too
            const { prioritized = 0, ...counts } = await queue.getJobCounts(
              'waiting',
              'prioritized',
              'active',
              'delayed',
              'failed',
            );
            return [name, { ...counts, waiting: (counts.waiting ?? 0) + prioritized }] as const;
          }),
        );
        const intake = await webhookLog.backlog();
        return { intake: { ...intake, delayed: 0, failed: 0 }, ...Object.fromEntries(entries) };
      },
      openCards: () => redis.zcard(keys.openCards),
      oldestOpenCard: async () => {
        const [, score] = await redis.zrange(keys.openCards, 0, 0, 'WITHSCORES');
        return score === undefined ? null : Number(score);
      },
      now: () => clock.now(),
    },
  });
  const gitlabConn = { url: config.gitlab.url, token: config.gitlab.token, observe: metrics.api };
  // Project paths and URLs come from the sweep's listings (kept in Redis), not from a read per scan or card.
  const projectStore = createProjectDirectoryStore(redis, keys);
  const gitlab = createGitLabReader(gitlabConn, { projects: projectStore, now: () => clock.now() });
  const membership = createMembership(gitlabConn);
  // What a deployment changes (cards, lists, the Changes modal): GitLab reads, ranges kept in Redis.
  const changes: ChangesDeps = {
    source: createChangesReader(gitlabConn, gitlab, { now: () => clock.now() }),
    ranges: createChangesStore(redis, keys),
    clock,
    logger,
  };
  const latest = createLatestDeployments(redis, keys);
  // Every chat.postMessage (cards, reminders, escalations, DMs) is paced per channel across processes.
  const slackClient = pacePostMessages(
    createSlackWebClient({ token: config.slack.botToken, apiUrl: config.slack.apiUrl, observe: metrics.api }),
    createChannelPacer(redis, keys, opts.slackPacing),
    logger,
  );
  const audit = createAuditLog(redis, keys);
  // Who could see a deployment anyway: members of its card's channel, people whose GitLab account reads the project.
  const visibility: VisibilityPort = {
    inChannel: createChannelMembers(slackClient).inChannel,
    canReadProject: createProjectAccess(gitlabConn).canReadProject,
  };

  // Identity by GITLAB_AUTH_MODE: oauth (each person's own token; loadConfig made sure its settings exist) or sudo.
  const oauthApp = config.gitlab.authMode === 'oauth' ? config.gitlab.oauth : null;
  const linkStart =
    oauthApp && config.publicUrl
      ? createLinkStart({ publicUrl: config.publicUrl, keys: config.encryptionKeys, now: () => clock.now() })
      : null;
  const direct = createDirectMessages(slackClient);
  const chat = createSlackChat(slackClient, {
    direct,
    linkUrl: (userId, teamId) => (linkStart && teamId ? linkStart.url({ teamId, userId }) : null),
  });
  const sudoIdentity = createSudoIdentity({ gitlab, slack: chat, policy: config.policy, conn: gitlabConn, logger });
  const slackOAuth = config.slack.oauth;
  const oauthIdentity =
    oauthApp && linkStart && slackOAuth
      ? createOAuthIdentity({
          store: createLinkStore(redis, keys, createTokenCipher(config.encryptionKeys)),
          oauth: createGitLabOAuthClient({
            url: config.gitlab.url,
            clientId: oauthApp.clientId,
            clientSecret: oauthApp.clientSecret,
            redirectUri: `${config.publicUrl}/oauth/gitlab/callback`,
          }),
          conn: gitlabConn,
          clock,
          logger,
          fallback: sudoIdentity,
          slackSignIn: createSlackSignIn({
            apiUrl: config.slack.apiUrl,
            clientId: slackOAuth.clientId,
            clientSecret: slackOAuth.clientSecret,
            redirectUri: `${config.publicUrl}${SLACK_CALLBACK_PATH}`,
          }),
        })
      : null;
  const identity: IdentityAdapter = oauthIdentity ?? sudoIdentity;
  const nudgeStore = createNudgeStore(redis, keys);
  const nudges: NudgeDeps = {
    gitlab,
    cards,
    nudges: nudgeStore,
    timer: createNudgeTimer(queues.nudges, clock),
    chat: createNudgeChat(slackClient),
    identity,
    membership,
    visibility,
    queue: producer,
    policy: config.policy,
    clock,
    logger,
  };

  // The list, the Home tab and DMs: open cards from Redis, rule membership from GitLab (cached).
  const pendingIndex = createPendingIndex(redis, keys);
  const personalStore = createPersonalStore(redis, keys);
  const personalQueue = createPersonalQueue(queueConnection, keys.bullPrefix);
  // Without a listener BullMQ prints connection errors to stderr during a Redis outage (as for the queues above).
  personalQueue.queue.on('error', (error: Error) =>
    logger.warn({ queue: 'personal', err: error.message }, 'queue connection error'),
  );
  const personalChat = createPersonalChat(slackClient, direct);
  /** Where the Home tab's Link button points (oauth mode): the same signed start URL as every Link button. */
  const linkTarget: LinkTarget | undefined = linkStart ? async (user) => linkStart.url(user) : undefined;

  let server: Server | null = null;
  let workers: Workers | null = null;
  let intakeConsumer: WebhookConsumer | null = null;
  let bolt: App | null = null;
  let personalWorker: ReturnType<typeof startPersonalWorker> | null = null;
  let socketBolt: App | null = null;
  let sweeper: Sweeper | null = null;
  let dataGuard: DataGuard | null = null;

  const trustProxy = trustProxies(config.trustedProxies);
  const rejections = createRejectionLog(logger);
  const opsApp = () =>
    createHttpApp({
      logger,
      trustProxy,
      ready: async () => (await redis.ping()) === 'PONG',
      metrics: () => metrics.render(),
    });
  /** `front`: requests served before express (GitLab's verified webhook deliveries); the rest go to `http`. */
  let served: Express | null = null;
  const listen = async (http: Express, front?: WebhookIntake) => {
    finishHttpApp(http, logger, rejections);
    served = http;
    const handler: RequestListener = front
      ? (req, res) => (front.isVerifiedDelivery(req) ? front.accept(req, res) : http(req, res))
      : http;
    await new Promise<void>((resolve, reject) => {
      server = createServer(handler).listen(config.port, () => resolve());
      server.once('error', reject);
    });
    server!.keepAliveTimeout = 65_000;
    return (server!.address() as AddressInfo).port;
  };

  const startWeb = async () => {
    const http = opsApp();
    const limits = { ...RATE_LIMITS, ...opts.rateLimits };
    // Only requests without the secret count: GitLab sends every hook from the same few addresses, a burst of
    // deployments exceeds any per-address limit, and GitLab disables a hook after four 429s in a row.
    const fromGitLab = (req: Request) => secureEquals(req.get('x-gitlab-token'), config.gitlab.webhookSecret);
    http.use(WEBHOOK_PATH, perIpRateLimit('webhooks', limits.webhooks, logger, undefined, fromGitLab, rejections));
    http.use('/slack/events', perIpRateLimit('slack', limits.slack, logger, undefined, undefined, rejections));
    http.use('/oauth', perIpRateLimit('oauth', limits.oauth, logger, undefined, undefined, rejections));
    const intake = createWebhookIntake({
      secret: config.gitlab.webhookSecret,
      logger,
      observe: metrics.webhook,
      rejections,
      trustProxy,
      enqueue: (event, key) => webhookLog.append(event, key),
    });
    http.post(WEBHOOK_PATH, intake.handle);
    if (oauthIdentity && linkStart) {
      http.use(
        oauthRouter({
          identity: oauthIdentity,
          linkStart,
          command: config.slack.command,
          publicUrl: config.publicUrl!,
          logger,
          confirm: (user, account) =>
            direct
              .postDirect(
                user.userId,
                directText(
                  `:link: Your Slack account now acts as GitLab *@${account.username}*: greenlight records your ` +
                    `approvals in GitLab as them. Not you? \`${config.slack.command} unlink\``,
                ),
              )
              .then(() => undefined),
        }),
      );
    }
    // Socket Mode (SLACK_APP_TOKEN) or signed HTTP requests on /slack/events of this express app
    const receiver = createSlackReceiver({
      slack: config.slack,
      http,
      logger,
      fetch: observedSlackFetch(metrics.api, config.slack.apiUrl),
      rejections,
      ...(opts.slackAckTimeoutMs !== undefined && { ackTimeoutMs: opts.slackAckTimeoutMs }),
    });
    bolt = new App({
      receiver: receiver.receiver,
      token: config.slack.botToken,
      logger: boltLogger(logger),
      deferInitialization: true,
      clientOptions: {
        slackApiUrl: config.slack.apiUrl,
        retryConfig: { retries: 0 },
        fetch: observedSlackFetch(metrics.api, config.slack.apiUrl),
      },
    });
    await bolt.init();
    registerCardActions(bolt, { producer, cards, logger });
    registerRejectModal(bolt, { producer, logger });
    registerApproveModal(bolt, { producer, logger });
    registerChangesModal(bolt, { cards, changes, logger });
    registerSnooze(bolt, { producer, logger });
    const listDeps: PendingListDeps = {
      index: pendingIndex,
      identity,
      membership,
      policy: config.policy,
      visibility,
      clock,
      command: config.slack.command,
      linkMode: identity.linkHint,
      help: helpText(config.slack.command),
      logger,
    };
    registerPendingList(bolt, listDeps);
    registerHome(bolt, { store: personalStore, producer: personalQueue.producer, clock, logger });
    registerCommand(bolt, {
      command: config.slack.command,
      logger,
      subcommands: {
        ...accountSubcommands({
          command: config.slack.command,
          identity,
          oauth:
            oauthIdentity && linkStart ? { linkUrl: (user) => linkStart.url(user), identity: oauthIdentity } : null,
        }),
      },
      list: listSubcommand(listDeps),
    });
    bolt.error(async (error) => {
      logger.error({ err: error.message }, 'slack listener failed');
    });
    const port = await listen(http, intake);
    if (receiver.mode === 'socket') {
      await bolt.start();
      socketBolt = bolt;
    }
    logger.info({ port, role: config.role, slack: receiver.mode }, 'greenlight web listening');
  };

  /** ROLE=worker still answers /healthz, /readyz and /metrics (probes and Prometheus), nothing else. */
  const startOpsServer = async () => {
    const port = await listen(opsApp());
    logger.info({ port, role: config.role }, 'greenlight worker health and metrics listening');
  };

  const startWorkerRole = async () => {
    const projectDirectory = createProjectDirectory(gitlabConn);
    const processorDeps: ProcessorDeps = {
      gitlab,
      producer,
      chat,
      sync: {
        gitlab,
        cards,
        chat,
        identity,
        policy: config.policy,
        clock,
        logger,
        membership,
        supersede: { latest, queue: producer },
        recovery: createLossMemory(redis, keys),
        nudges: { nextNudge: (deployment, route) => nextNudgeFor({ nudges: nudgeStore, clock }, deployment, route) },
        changes: { ...changes, queue: producer, delay: (ms) => new Promise((done) => setTimeout(done, ms).unref()) },
      },
      decide: { gitlab, identity, cards, queue: producer, policy: config.policy, logger, membership, visibility },
      projects: createProjectMemory(redis, keys),
      linkMode: identity.linkHint,
      command: config.slack.command,
      decisionWindowMs: DECISION_WINDOW_MS,
      audit,
      nudges,
      onCardChanged: (ref) => personalQueue.producer.cardChanged(ref),
      sweep: {
        classify: {
          gitlab: projectDirectory,
          state: projectStore,
          classifyEveryMs: config.policy.sweepClassifyEveryMs,
          now: () => clock.now(),
          logger,
        },
        hasOpenCard: async (deploymentId) => (await redis.zscore(keys.openCards, String(deploymentId))) !== null,
        noteHook: (projectId, hook) =>
          noteHook({ state: projectStore, queue: producer, now: () => clock.now() }, projectId, hook),
        forget: (projectId) => projectStore.forget(projectId),
      },
    };
    const stallTimeoutMs = opts.workerSettings?.stallTimeoutMs ?? config.workerStallTimeoutMs;
    const intakeConnection = createRedis(redisTarget, 'bullmq');
    intakeConnection.on('error', (error: Error) =>
      logger.warn({ connection: 'intake', err: error.message }, 'redis connection error'),
    );
    intakeConsumer = startWebhookConsumer({
      connection: intakeConnection,
      commands: redis,
      keys,
      handle: (event, log) => processIntake(processorDeps, event, log),
      logger,
      concurrency: opts.workerSettings?.concurrency?.intake ?? 20,
      reclaimAfterMs: stallTimeoutMs,
      observe: metrics.intake,
    });
    workers = startWorkers(processorDeps, {
      connection: workerConnection!,
      prefix: keys.bullPrefix,
      logger,
      settings: { stallTimeoutMs: config.workerStallTimeoutMs, ...opts.workerSettings },
      // GitLab's limit is the token's: a 429 met by a scan or a sync pauses both (the sweep spreads them together)
      pauseQueue: async (name, ms) => {
        const readers: QueueName[] = name === 'scan' || name === 'sync' ? ['scan', 'sync'] : [name];
        await Promise.all(readers.map((reader) => queues[reader].rateLimit(ms)));
      },
    });
    personalWorker = startPersonalWorker(
      {
        home: {
          index: pendingIndex,
          identity,
          membership,
          policy: config.policy,
          visibility,
          store: personalStore,
          linkTarget,
          clock,
          command: config.slack.command,
        },
        notify: {
          cards,
          store: personalStore,
          chat: personalChat,
          identity,
          membership,
          policy: config.policy,
          visibility,
        },
        chat: personalChat,
        store: personalStore,
        producer: personalQueue.producer,
        clock,
      },
      { connection: workerConnection!, prefix: keys.bullPrefix, logger },
    );
    metrics.observeWorkers(workers.workers, logger);
    sweeper = await startSweeper({
      deps: {
        gitlab: projectDirectory,
        state: { ...projectStore, ...createSweepState(redis, keys, cards) },
        queue: producer,
        policy: config.policy,
        now: () => clock.now(),
        ...(opts.sweepMaxGapMs !== undefined && { maxGapMs: opts.sweepMaxGapMs }),
      },
      everyMs: config.policy.sweepEveryMs,
      queueConnection,
      workerConnection: workerConnection!,
      prefix: keys.bullPrefix,
      logger,
      stallTimeoutMs,
    });
    const sweep = sweeper;
    dataGuard = createDataGuard({
      redis,
      keys,
      clock,
      logger,
      everyMs: opts.dataCheckEveryMs ?? 30_000,
      onLoss: async (reason) => {
        await sweep.reschedule();
        // no forced listing: if the data was really lost, the listing's record went with it and it runs anyway
        await sweep.requestNow(`redis lost data (${reason})`, { fullListing: false });
        await repairLostCards(
          { chat, queue: producer, logger, now: clock.now() },
          { channels: cardChannels(config.policy), windowMs: LOST_CARDS_WINDOW_MS },
        );
      },
    });
    await dataGuard.start();
    logger.info({ role: config.role }, 'greenlight workers started');
  };

  return {
    logger,
    config,
    producer,
    queues,
    webhooks: webhookLog,
    metrics,
    async start() {
      if (config.role !== 'worker') await startWeb();
      else await startOpsServer();
      if (config.role !== 'web') await startWorkerRole();
    },
    async stop() {
      const sb = socketBolt as App | null;
      if (sb)
        await sb
          .stop()
          .catch((error: unknown) =>
            logger.warn({ err: (error as Error).message }, 'socket mode did not close cleanly'),
          );
      const s = server as Server | null;
      if (s) await closeServer(s);
      if (intakeConsumer) await intakeConsumer.close();
      if (workers) await workers.close();
      if (dataGuard) await dataGuard.close();
      if (sweeper) await sweeper.close();
      if (personalWorker) await personalWorker.close();
      await queues.close();
      await personalQueue.close();
      for (const conn of [redis, queueConnection, workerConnection]) conn?.disconnect();
      logger.info({}, 'greenlight stopped');
    },
    sweeper: () => sweeper,
    routes: () => (served ? listRoutes(served) : []),
    url() {
      const s = server as Server | null;
      const address = s?.address();
      return address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : null;
    },
  };
}

/**
 * Stops accepting connections and lets requests in flight finish. A keep-alive connection that was busy
 * when close() was called turns idle afterwards and would hold close() open until its keep-alive timeout
 * (65 s): idle connections are closed as they appear, and whatever is left after `graceMs` is cut.
 */
async function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
