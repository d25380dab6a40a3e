/** Public data shapes of the fake Slack. Everything handed out to tests is a deep copy. */

export type Json = Record<string, unknown>;
/** A Block Kit block as Slack stores it (after normalisation: block_id/action_id filled in). */
export type Block = Json;

export interface FakeSlackOptions {
  botToken?: string;
  signingSecret?: string;
  teamId?: string;
  teamDomain?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Bot user name shown in auth.test and bot_profile. */
  botName?: string;
  /** The deprecated verification token Slack still puts in payloads. */
  verificationToken?: string;
  /** App-level token (xapp-...) that apps.connections.open accepts (Socket Mode). */
  appToken?: string;
  /** App configuration token (xoxe.xoxp-...) that apps.manifest.create accepts. */
  configToken?: string;
  /**
   * OAuth credentials of the app (apps.manifest.create returns them, oauth.v2.access checks them, and Sign in with
   * Slack's openid.connect.token too).
   */
  clientId?: string;
  clientSecret?: string;
}

export type Identity = Required<FakeSlackOptions>;

export interface UserInput {
  id: string;
  name: string;
  realName?: string;
  email?: string;
  tz?: string;
  isBot?: boolean;
  deleted?: boolean;
  /** The user's own workspace (default: the installed one). Another team = an external (Slack Connect) user. */
  teamId?: string;
  /** Multi-channel guest. */
  isRestricted?: boolean;
  /** Single-channel guest. */
  isUltraRestricted?: boolean;
  /** A user from another organisation seen through Slack Connect. */
  isStranger?: boolean;
  /** Whether the e-mail address was confirmed (default true). */
  emailConfirmed?: boolean;
}

export interface ChannelInput {
  id: string;
  name: string;
  isPrivate?: boolean;
  botIsMember?: boolean;
  isArchived?: boolean;
  /** Human members. Omitted: every known user counts as a member (convenient for public channels). */
  members?: string[];
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Json;
}

export type RevisionSource =
  'chat.postMessage' | 'chat.update' | 'chat.delete' | 'chat.postEphemeral' | 'response_url' | 'command_ack' | 'seed';

export interface MessageRevision {
  at: number;
  via: RevisionSource;
  text: string;
  blocks: Block[];
  metadata?: MessageMetadata;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  /** Author: the bot user id for messages the app posted. */
  user: string;
  botId?: string;
  appId?: string;
  text: string;
  blocks: Block[];
  metadata?: MessageMetadata;
  threadTs?: string;
  replyBroadcast: boolean;
  deleted: boolean;
  /** Every state the message had, oldest first (post, then each update / replace / delete). */
  history: MessageRevision[];
}

export interface StoredEphemeral {
  channel: string;
  user: string;
  /** message_ts as returned by chat.postEphemeral (and used in container.message_ts of clicks on it). */
  ts: string;
  text: string;
  blocks: Block[];
  threadTs?: string;
  via: 'chat.postEphemeral' | 'command_ack' | 'response_url';
  deleted: boolean;
  history: MessageRevision[];
}

export interface CallRecord {
  seq: number;
  method: string;
  /** Arguments as decoded by the fake: form fields, with blocks/view/metadata/attachments JSON-decoded. */
  args: Json;
  token: string | undefined;
  /** Wall-clock ms when the request arrived. */
  at: number;
  response: { status: number; body: unknown; headers: Record<string, string> };
}

export interface UnexpectedRequest {
  at: number;
  httpMethod: string;
  path: string;
  /** The Web API method, when the path was /api/<method>. */
  method?: string;
  reason: string;
}

export type InjectedFailure =
  | { error: string; extra?: Json }
  /** retryAfter: seconds for Retry-After (429 defaults to 1; null omits the header). */
  | { status: number; retryAfter?: number | null; body?: unknown };

export interface ResponseUrlPost {
  id: string;
  at: number;
  body: unknown;
  status: number;
  /** What the post did in the fake's model of Slack. */
  effect: 'replaced' | 'deleted' | 'ephemeral' | 'in_channel' | 'rejected';
  error?: string;
}

export interface ViewRecord {
  /** The view exactly as Slack would return/send it (id, hash, state, blocks, ...). */
  view: Json;
  userId: string;
  kind: 'modal' | 'home';
  via: 'views.open' | 'views.push' | 'views.publish' | 'response_action';
  open: boolean;
  /** Every submission made through the driver, with what the app acked. */
  submissions: { at: number; values: Json; ack: unknown; outcome: string }[];
}

export interface DriverResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** body parsed as JSON, when it is JSON. */
  json: unknown;
  elapsedMs: number;
  /** True when the app took longer than Slack's 3 s: Slack would have shown the user an error. */
  timedOut: boolean;
}

export type SigningMode =
  'valid' | 'wrong-secret' | 'stale-timestamp' | 'missing-headers' | 'missing-signature' | 'tampered-body';

export interface SendOptions {
  /** How to sign the request (default 'valid'). 'stale-timestamp' = now - 301 s. */
  signing?: SigningMode;
  /** Override the signed timestamp (unix seconds). */
  timestampSeconds?: number;
  /** Give up waiting for the app after this many ms (default 10 000). */
  timeoutMs?: number;
  /** Path of Bolt's endpoint, appended to appUrl unless appUrl already ends with it (default /slack/events). */
  path?: string;
}
