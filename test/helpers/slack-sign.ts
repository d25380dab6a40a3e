import { createHmac } from 'node:crypto';

/** Slack sends commands and interactions with exactly this Content-Type; Bolt only form-parses this exact string. */
export const SLACK_FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
/** Events API deliveries. */
export const SLACK_JSON_CONTENT_TYPE = 'application/json';

/**
 * Slack's request signature: `v0=` + lowercase hex HMAC-SHA256 over `v0:<timestamp>:<raw body>`, keyed with the
 * app's signing secret. The body must be the exact bytes sent, never a re-serialisation.
 */
export function signSlackRequest(signingSecret: string, timestampSeconds: number, rawBody: string | Buffer): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestampSeconds}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

export interface SlackHeaderOptions {
  /** Unix seconds; defaults to now. */
  timestampSeconds?: number;
  /** Defaults to the form Content-Type (commands, interactions). */
  contentType?: string;
}

/** The headers Slack puts on every request it makes to an app: Content-Type, timestamp and signature. */
export function slackHeaders(
  signingSecret: string,
  rawBody: string | Buffer,
  opts: SlackHeaderOptions = {},
): Record<string, string> {
  const timestamp = opts.timestampSeconds ?? Math.floor(Date.now() / 1000);
  return {
    'Content-Type': opts.contentType ?? SLACK_FORM_CONTENT_TYPE,
    'X-Slack-Request-Timestamp': String(timestamp),
    'X-Slack-Signature': signSlackRequest(signingSecret, timestamp, rawBody),
  };
}
