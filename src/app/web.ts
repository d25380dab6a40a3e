import { App } from '@slack/bolt';
import type { Config } from '../config/load.ts';
import { observedSlackFetch } from '../adapters/metrics/api-observer.ts';
import { linkedText } from '../adapters/slack/personal.ts';
import { createHttpApp } from '../entrypoints/http/app.ts';
import { trustProxies } from '../entrypoints/http/client-address.ts';
import { createWebhookIntake, WEBHOOK_PATH } from '../entrypoints/http/gitlab-webhook.ts';
import { oauthRouter } from '../entrypoints/http/oauth-routes.ts';
import { limitPublicRoutes } from '../entrypoints/http/rate-limit.ts';
import type { RejectionLog } from '../entrypoints/http/rejection-log.ts';
import { boltLogger } from '../entrypoints/slack/bolt-logger.ts';
import { createSlackReceiver } from '../entrypoints/slack/receiver.ts';
import type { Adapters } from './adapters.ts';
import type { Infrastructure } from './infrastructure.ts';
import type { HttpServer } from './lifecycle.ts';
import type { GreenlightOptions } from './options.ts';
import { registerSlackListeners } from './slack-listeners.ts';
import { withGitLabLane } from '../adapters/gitlab/request-budget.ts';

type WebDeps = {
  config: Config;
  infra: Infrastructure;
  adapters: Adapters;
  server: HttpServer;
  rejections: RejectionLog;
};

/** /healthz, /readyz and /metrics: every role serves them. */
export function opsApp({ config, infra }: Pick<WebDeps, 'config' | 'infra'>) {
  return createHttpApp({
    logger: infra.logger,
    trustProxy: trustProxies(config.trustedProxies),
    ready: async () => (await infra.redis.ping()) === 'PONG',
    metrics: () => infra.metrics.render(),
  });
}

/** The web role: GitLab's webhooks, the OAuth link flow and Slack (HTTP or Socket Mode). Returns its stop. */
export async function startWeb(deps: WebDeps, opts: GreenlightOptions): Promise<() => Promise<void>> {
  const { config, infra, adapters: a, rejections } = deps;
  const { logger, metrics } = infra;
  const http = opsApp(deps);
  limitPublicRoutes(http, {
    limits: opts.rateLimits ?? {},
    webhookSecret: config.gitlab.webhookSecret,
    logger,
    rejections,
  });
  const intake = createWebhookIntake({
    secret: config.gitlab.webhookSecret,
    logger,
    observe: metrics.webhook,
    rejections,
    trustProxy: trustProxies(config.trustedProxies),
    enqueue: (event, key) => infra.producer.enqueueWebhook(event, key),
  });
  http.post(WEBHOOK_PATH, intake.handle);
  if (a.oauth && a.linkStart)
    http.use(
      oauthRouter({
        identity: a.oauth,
        linkStart: a.linkStart,
        command: config.slack.command,
        publicUrl: config.publicUrl!,
        logger,
        confirm: (user, account) =>
          a.direct.postDirect(user.userId, linkedText(account.username, config.slack.command)).then(() => undefined),
      }),
    );
  // Socket Mode (SLACK_APP_TOKEN) or signed HTTP requests on /slack/events of this express app
  const fetch = observedSlackFetch(metrics.api, config.slack.apiUrl);
  const receiver = createSlackReceiver({
    slack: config.slack,
    http,
    logger,
    fetch,
    rejections,
    ...(opts.slackAckTimeoutMs !== undefined && { ackTimeoutMs: opts.slackAckTimeoutMs }),
  });
  const bolt = new App({
    receiver: receiver.receiver,
    token: config.slack.botToken,
    logger: boltLogger(logger),
    deferInitialization: true,
    clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 0 }, fetch },
  });
  await bolt.init();
  // Clicks, commands and modals go first in the GitLab budget (before webhook work and the sweep).
  bolt.use(({ next }) => withGitLabLane('interactive', next));
  registerSlackListeners(bolt, config, infra, a);
  // A delivery is answered only once it can be stored: listen when the queues' connection is ready.
  if (!(await infra.factory.ready()))
    logger.warn({}, 'redis is not reachable yet; webhooks are answered 503 until it is');
  const port = await deps.server.listen(http, intake);
  if (receiver.mode === 'socket') await bolt.start();
  logger.info({ port, role: config.role, slack: receiver.mode }, 'greenlight web listening');
  return async () => {
    if (receiver.mode === 'socket')
      await bolt
        .stop()
        .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'socket mode did not close cleanly'));
    await deps.server.close();
  };
}
