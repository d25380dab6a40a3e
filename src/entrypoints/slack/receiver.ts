import { ExpressReceiver, SocketModeReceiver, type Receiver } from '@slack/bolt';
import type { Express } from 'express';
import type { Config } from '../../config/load.ts';
import type { Logger } from '../../core/ports.ts';
import { boltLogger } from './bolt-logger.ts';
import { slackProcessEventErrorHandler } from './receiver-errors.ts';
import type { RejectionLog } from '../http/rejection-log.ts';

export type SlackReceiver = { mode: 'http' | 'socket'; receiver: Receiver };

/**
 * How Slack reaches greenlight. With SLACK_APP_TOKEN: Socket Mode, a WebSocket that greenlight opens to
 * Slack (no public Slack endpoint; start() connects). Otherwise: signed HTTP requests on POST /slack/events
 * of the express app that also serves the GitLab webhook. The listeners are the same either way.
 */
/** Slack's own payloads are far smaller; Bolt's default would be 4 MB. */
const SLACK_BODY_LIMIT = 1024 * 1024;

export function createSlackReceiver(deps: {
  slack: Config['slack'];
  http: Express;
  logger: Logger;
  fetch?: typeof fetch;
  ackTimeoutMs?: number;
  rejections?: RejectionLog;
}): SlackReceiver {
  const { slack } = deps;
  if (slack.appToken) {
    return {
      mode: 'socket',
      receiver: new SocketModeReceiver({
        appToken: slack.appToken,
        // the Socket Mode client logs every envelope whole at debug level: keep payloads out of our logs
        logger: { ...boltLogger(deps.logger), debug: () => {} },
        // apps.connections.open goes to the same Web API as everything else (a proxy or a test fake)
        installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl, ...(deps.fetch && { fetch: deps.fetch }) } },
      }),
    };
  }
  return {
    mode: 'http',
    receiver: new ExpressReceiver({
      signingSecret: slack.signingSecret ?? '',
      app: deps.http,
      endpoints: '/slack/events',
      processBeforeResponse: false,
      bodyLimit: SLACK_BODY_LIMIT,
      // a signed body Bolt cannot use gets a 400 and one warning, not a 500
      processEventErrorHandler: slackProcessEventErrorHandler(deps.logger),
      logger: boltLogger(deps.logger, deps.rejections),
      ...(deps.ackTimeoutMs !== undefined && { unhandledRequestTimeoutMillis: deps.ackTimeoutMs }),
    }),
  };
}
