/**
 * A fake Slack for tests: a real HTTP server on loopback serving the Web API (`apiUrl`, what the app uses as
 * slackApiUrl) and response_urls, with stored workspace state, a call log and failure injection; plus a driver
 * that sends the app signed commands, clicks, modal submissions and events exactly as Slack would.
 * Ground truth: the shared reference notes, reference/slack-platform.md. Everything returned is a copy.
 *
 *   const slack = await startFakeSlack();
 *   slack.addUser({ id: 'U0456ALICE', name: 'alice', email: 'alice@example.com' });
 *   slack.addChannel({ id: 'C0123DEPLOY', name: 'deployments', botIsMember: true });
 *   // start the app with token slack.botToken, signingSecret slack.signingSecret, slackApiUrl slack.apiUrl
 *   const card = await slack.waitForCall('chat.postMessage');
 *   await slack.clickButton(appUrl, { userId: 'U0456ALICE', channel: 'C0123DEPLOY', ts, actionId: 'deploy_approve' });
 */
import { AppRegistry, type CreatedApp } from './fake-slack/apps.ts';
import { CallLog } from './fake-slack/call-log.ts';
import { createClock } from './fake-slack/clock.ts';
import { SlackDriver } from './fake-slack/driver.ts';
import type {
  ClickInput,
  ClickResult,
  CommandInput,
  CommandResult,
  EphemeralClickInput,
  EventOptions,
  EventResult,
  HomeClickInput,
  SubmitInput,
  SubmitResult,
} from './fake-slack/driver.ts';
import { Faults } from './fake-slack/faults.ts';
import type { PostMessagePace } from './fake-slack/faults.ts';
import { MessageStore } from './fake-slack/messages.ts';
import { OpenIdProvider, SLACK_BROWSER_COOKIE, type IdTokenTampering } from './fake-slack/openid.ts';
import { ResponseUrls } from './fake-slack/response-urls.ts';
import type { ResponseUrlOrigin } from './fake-slack/response-urls.ts';
import { startServer } from './fake-slack/server.ts';
import { SocketModeHub, type SocketModeView } from './fake-slack/socket-mode.ts';
import { TriggerRegistry } from './fake-slack/triggers.ts';
import type {
  Block,
  CallRecord,
  ChannelInput,
  FakeSlackOptions,
  Identity,
  InjectedFailure,
  Json,
  ResponseUrlPost,
  SendOptions,
  StoredEphemeral,
  StoredMessage,
  UnexpectedRequest,
  UserInput,
  ViewRecord,
} from './fake-slack/types.ts';
import { ViewStore } from './fake-slack/views.ts';
import type { FakeState } from './fake-slack/web-api/context.ts';
import { Workspace } from './fake-slack/workspace.ts';

export { ButtonNotFoundError } from './fake-slack/driver.ts';
export { SLACK_BROWSER_COOKIE, type IdTokenTampering } from './fake-slack/openid.ts';
export { quietSlackLogger } from './fake-slack/quiet-logger.ts';
export { DEFAULT_SCOPES } from './fake-slack/workspace.ts';
export { RESPONSE_URL_KEY } from './fake-slack/faults.ts';
export { SOCKET_MODE } from './fake-slack/socket-mode.ts';
export type { EnvelopeType, SocketEnvelope, SocketModeView } from './fake-slack/socket-mode.ts';
export { SUPPORTED_METHODS } from './fake-slack/web-api/index.ts';
export type * from './fake-slack/types.ts';
export type { CreatedApp } from './fake-slack/apps.ts';
export type {
  ClickInput,
  ClickResult,
  CommandInput,
  CommandResult,
  EphemeralClickInput,
  EventOptions,
  EventResult,
  HomeClickInput,
  PostMessagePace,
  ResponseUrlOrigin,
  SubmitInput,
  SubmitResult,
};
export type { SubmittedValues, SubmitOutcome } from './fake-slack/view-submission.ts';

export const FAKE_SLACK_DEFAULTS: Identity = {
  botToken: 'xoxb-0001-fake-greenlight',
  signingSecret: 'fake-signing-secret-8f742231b10e',
  teamId: 'T0001ABCD',
  teamDomain: 'acme',
  botUserId: 'U0BOTUSER',
  botId: 'B0BOT0001',
  appId: 'A0789DGATE',
  botName: 'greenlight',
  verificationToken: 'gIkuvaNzQIHg97ATvDxqgjtO',
  appToken: 'xapp-1-A0789DGATE-0001-fakesocketmode',
  configToken: 'xoxe.xoxp-1-Mi0yLTEwMDAtZmFrZWNvbmZpZ3Rva2Vu',
  clientId: '1000000000001.7000000000001',
  clientSecret: 'fake-client-secret-0f1e2d3c4b5a',
};

export interface FakeSlack {
  readonly url: string;
  /** `${url}/api/`: pass as slackApiUrl (Bolt clientOptions / WebClient option). */
  readonly apiUrl: string;
  readonly identity: Identity;
  readonly botToken: string;
  readonly signingSecret: string;
  /** App-level token for Socket Mode (SLACK_APP_TOKEN). */
  readonly appToken: string;
  close(): Promise<void>;

  // ---- Sign in with Slack (OpenID Connect on `url`: /openid/connect/authorize, /openid/connect/keys)
  /** The app's redirect URLs (oauth_config.redirect_urls): authorize refuses any other redirect_uri. */
  addRedirectUrl(url: string): void;
  /** Cookie a browser holds on the fake's origin when signed in to Slack as `userId` (name=value). */
  browserCookie(userId: string): { name: string; value: string };
  /** Make the next ID tokens wrong in one way (null: correct again). */
  tamperIdTokens(tampering: IdTokenTampering | null): void;
  /** Authorize requests that signed someone in. */
  readonly signIns: Array<{ userId: string; teamId: string; clientId: string; at: number }>;
  /** App configuration token (apps.manifest.create) and the OAuth credentials of the app it creates. */
  readonly configToken: string;
  /** Apps created through apps.manifest.create, with their manifest and whether they were installed. */
  createdApps(): CreatedApp[];

  // ---- Socket Mode (the app connects with appToken; drive it by passing SOCKET_MODE as appUrl)
  readonly socketMode: SocketModeView;

  // ---- workspace state
  addUser(user: UserInput): void;
  addChannel(channel: ChannelInput): void;
  setScopes(scopes: readonly string[]): void;
  readonly scopes: string[];
  /** A message a person wrote (the bot cannot update or delete it). Returns its ts. */
  postAsUser(input: { channel: string; user: string; text: string; blocks?: Block[]; threadTs?: string }): string;
  /** Moves the fake's clock (trigger_id / response_url expiry, pacing windows, ts). Signatures use real time. */
  advanceClock(ms: number): void;
  /** A trigger_id as Slack would hand out with an interaction by `userId`. */
  issueTriggerId(userId: string): string;
  issueResponseUrl(origin: ResponseUrlOrigin): string;

  // ---- messages
  /** The channel timeline (no thread replies unless broadcast), oldest first. */
  messages(channel: string, opts?: { includeDeleted?: boolean }): StoredMessage[];
  /** One message with its full revision history (deleted ones too). */
  message(channel: string, ts: string): StoredMessage | undefined;
  /** Replies in the thread of `ts`, oldest first, without the parent. */
  thread(channel: string, ts: string): StoredMessage[];
  ephemerals(filter?: { channel?: string; user?: string; includeDeleted?: boolean }): StoredEphemeral[];
  /** Messages in the bot's DM with the user. */
  dms(userId: string): StoredMessage[];
  /** The stable D… id of the bot's DM with the user (what conversations.open returns). */
  dmChannelId(userId: string): string;

  // ---- views
  views(): ViewRecord[];
  view(viewId: string): ViewRecord | undefined;
  /** The modal most recently opened or pushed for the user (open or not). */
  lastView(userId: string): ViewRecord | undefined;
  homeView(userId: string): ViewRecord | undefined;

  // ---- call log
  readonly calls: CallRecord[];
  callsTo(method: string): CallRecord[];
  /** Requests that arrived and are still being answered (setLatency, holdCalls): what a crash test kills in flight. */
  inFlight(method?: string): Array<{ method: string; args: Record<string, unknown> }>;
  /** Calls answered with HTTP 429 (pacing or injected). */
  rateLimited(): CallRecord[];
  /** Unknown methods/routes, bad tokens, unknown response_urls, fake crashes. Assert it is empty after a test. */
  unexpected(): UnexpectedRequest[];
  waitForCall(method: string, predicate?: (call: CallRecord) => boolean, timeoutMs?: number): Promise<CallRecord>;

  // ---- failure injection
  /** Answer the next `times` calls to `method` (or RESPONSE_URL_KEY) with the failure instead of running them. */
  failNext(method: string, failure: InjectedFailure, times?: number): void;
  setPostMessagePace(pace: PostMessagePace | null): void;
  /** Delay before `method` ('*' = every method) is processed. 0 removes it. */
  setLatency(method: string, ms: number): void;
  /** Calls to `method` are held (in flight) until the returned function is called: no race with a busy machine. */
  holdCalls(method: string): () => void;

  // ---- response_url
  /** Posts to response_urls (all, or one by id or full URL). */
  responses(id?: string): ResponseUrlPost[];

  // ---- driving the app (appUrl = the app's base URL; /slack/events is appended)
  sendCommand(appUrl: string, input: CommandInput, opts?: SendOptions): Promise<CommandResult>;
  clickButton(appUrl: string, input: ClickInput, opts?: SendOptions): Promise<ClickResult>;
  clickEphemeralButton(appUrl: string, input: EphemeralClickInput, opts?: SendOptions): Promise<ClickResult>;
  clickHomeButton(appUrl: string, input: HomeClickInput, opts?: SendOptions): Promise<ClickResult>;
  submitView(appUrl: string, input: SubmitInput, opts?: SendOptions): Promise<SubmitResult>;
  sendEvent(appUrl: string, event: Json, options?: EventOptions, opts?: SendOptions): Promise<EventResult>;
  openHome(appUrl: string, userId: string, opts?: SendOptions): Promise<EventResult>;
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const identity: Identity = { ...FAKE_SLACK_DEFAULTS, ...definedOnly(options) };
  const clock = createClock();
  const log = new CallLog();
  const faults = new Faults(clock);
  const messages = new MessageStore(clock, identity);
  const state: FakeState = {
    identity,
    clock,
    workspace: new Workspace(identity),
    messages,
    views: new ViewStore(clock, identity),
    triggers: new TriggerRegistry(clock),
    faults,
    log,
    openid: null as unknown as OpenIdProvider,
    apps: new AppRegistry(identity),
    baseUrl: () => baseUrl,
  };
  let baseUrl = '';
  const openid = new OpenIdProvider({ identity, workspace: state.workspace, clock, issuer: () => baseUrl });
  state.openid = openid;
  const responseUrls = new ResponseUrls({ baseUrl: () => baseUrl, clock, messages, faults, log, identity });
  const socketMode = new SocketModeHub({ identity, log });
  const server = await startServer(state, responseUrls, socketMode);
  baseUrl = server.url;
  const driver = new SlackDriver({ state, responseUrls, socketMode });
  const copy = <T>(value: T): T => structuredClone(value);

  return {
    url: server.url,
    apiUrl: `${server.url}/api/`,
    identity: { ...identity },
    botToken: identity.botToken,
    signingSecret: identity.signingSecret,
    appToken: identity.appToken,
    configToken: identity.configToken,
    createdApps: () => structuredClone(state.apps.created),
    socketMode,
    close: () => server.close(),

    addRedirectUrl: (url) => openid.redirectUrls.add(url),
    browserCookie: (userId) => ({ name: SLACK_BROWSER_COOKIE, value: encodeURIComponent(userId) }),
    tamperIdTokens: (tampering) => {
      openid.tamper = tampering;
    },
    get signIns() {
      return structuredClone(openid.signIns);
    },

    addUser: (user) => state.workspace.addUser(user),
    addChannel: (channel) => state.workspace.addChannel(channel),
    setScopes: (scopes) => {
      state.workspace.scopes = [...scopes];
    },
    get scopes() {
      return [...state.workspace.scopes];
    },
    postAsUser: (input) =>
      messages.post({
        channel: input.channel,
        user: input.user,
        fromBot: false,
        text: input.text,
        blocks: input.blocks ?? [],
        ...(input.threadTs ? { threadTs: input.threadTs } : {}),
        via: 'seed',
      }).ts,
    advanceClock: (ms) => clock.advance(ms),
    issueTriggerId: (userId) => state.triggers.issue(userId),
    issueResponseUrl: (origin) => responseUrls.issue(origin),

    messages: (channel, opts) => copy(messages.timeline(channel, opts)),
    message: (channel, ts) => copy(messages.get(channel, ts)),
    thread: (channel, ts) => copy(messages.replies(channel, ts)),
    ephemerals: (filter) => copy(messages.ephemerals(filter)),
    dms: (userId) => copy(messages.timeline(`D${userId.slice(1)}`)),
    dmChannelId: (userId) => `D${userId.slice(1)}`,

    views: () => copy([...state.views.records.values()].filter((r) => r.kind === 'modal')),
    view: (viewId) => copy(state.views.records.get(viewId)),
    lastView: (userId) => copy(state.views.lastOpened(userId)),
    homeView: (userId) => copy(state.views.home(userId)),

    get calls() {
      return log.all();
    },
    callsTo: (method) => log.to(method),
    inFlight: (method) => log.inFlight(method),
    rateLimited: () => log.all().filter((c) => c.response.status === 429),
    unexpected: () => log.unexpectedRequests(),
    waitForCall: (method, predicate, timeoutMs) => log.waitForCall(method, predicate, timeoutMs),

    failNext: (method, failure, times) => faults.failNext(method, failure, times),
    setPostMessagePace: (pace) => faults.setPostMessagePace(pace),
    setLatency: (method, ms) => faults.setLatency(method, ms),
    holdCalls: (method) => faults.hold(method),

    responses: (id) => responseUrls.posts(id),

    sendCommand: (appUrl, input, opts) => driver.sendCommand(appUrl, input, opts),
    clickButton: (appUrl, input, opts) => driver.clickButton(appUrl, input, opts),
    clickEphemeralButton: (appUrl, input, opts) => driver.clickEphemeralButton(appUrl, input, opts),
    clickHomeButton: (appUrl, input, opts) => driver.clickHomeButton(appUrl, input, opts),
    submitView: (appUrl, input, opts) => driver.submitView(appUrl, input, opts),
    sendEvent: (appUrl, event, eventOptions, opts) => driver.sendEvent(appUrl, event, eventOptions, opts),
    openHome: (appUrl, userId, opts) => driver.openHome(appUrl, userId, opts),
  };
}

function definedOnly(options: FakeSlackOptions): FakeSlackOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as FakeSlackOptions;
}
