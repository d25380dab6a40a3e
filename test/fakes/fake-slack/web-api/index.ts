import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InjectedFailure, Json } from '../types.ts';
import * as apps from './apps.ts';
import * as chat from './chat.ts';
import { ApiFailure, Args, decodeArgs } from './context.ts';
import type { FakeState } from './context.ts';
import * as directory from './directory.ts';
import * as views from './views.ts';

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

interface MethodSpec {
  /** Any one of these scopes grants the method (checked before the call); [] = no scope needed. */
  scopes: string[];
  /** Which token the method takes: the bot token (default), an app configuration token, or none (client id). */
  auth?: 'bot' | 'config' | 'client';
  run: (state: FakeState, args: Args, basic?: { user: string; password: string }) => Json;
}

const METHODS: Record<string, MethodSpec> = {
  'auth.test': { scopes: [], run: directory.authTest },
  'chat.postMessage': { scopes: ['chat:write'], run: chat.postMessage },
  'chat.update': { scopes: ['chat:write'], run: chat.update },
  'chat.postEphemeral': { scopes: ['chat:write'], run: chat.postEphemeral },
  'chat.delete': { scopes: ['chat:write'], run: chat.deleteMessage },
  'views.open': { scopes: [], run: views.open },
  'views.push': { scopes: [], run: views.push },
  'views.update': { scopes: [], run: views.update },
  'views.publish': { scopes: [], run: views.publish },
  'users.info': { scopes: ['users:read'], run: directory.usersInfo },
  'users.lookupByEmail': { scopes: ['users:read.email'], run: directory.usersLookupByEmail },
  'conversations.open': {
    scopes: ['im:write', 'mpim:write', 'channels:manage', 'groups:write'],
    run: directory.conversationsOpen,
  },
  // conversations.info/history/replies check the channel type's scope themselves.
  'conversations.info': { scopes: [], run: directory.conversationsInfo },
  'conversations.members': { scopes: [], run: directory.conversationsMembers },
  'conversations.history': { scopes: [], run: directory.conversationsHistory },
  'conversations.replies': { scopes: [], run: directory.conversationsReplies },
  // conversations.list checks channels:read / groups:read per requested type itself.
  'conversations.list': { scopes: [], run: directory.conversationsList },
  'conversations.join': { scopes: ['channels:join'], run: directory.conversationsJoin },
  'apps.manifest.create': { scopes: [], auth: 'config', run: apps.manifestCreate },
  'oauth.v2.access': { scopes: [], auth: 'client', run: apps.oauthV2Access },
};

export const SUPPORTED_METHODS = [...Object.keys(METHODS), 'openid.connect.token'];

export interface ApiRequest {
  httpMethod: string;
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  query: URLSearchParams;
}

/** One Web API request: decode, apply latency, run, and record it in the call log. */
export async function handleApiRequest(state: FakeState, request: ApiRequest): Promise<ApiResponse> {
  const at = Date.now();
  const args = decodeArgs(request.headers['content-type'], request.rawBody, request.query);
  const token = bearerToken(request.headers.authorization) ?? (typeof args.token === 'string' ? args.token : undefined);
  delete args.token;
  // The call log keeps no client secret (tests assert on it); openid.connect.token still gets it.
  const credentials = { ...args };
  if (request.method === 'openid.connect.token') delete args.client_secret;
  const latency = state.faults.latencyFor(request.method);
  const done = state.log.begin(request.method, args);
  if (latency > 0) await sleep(latency);
  await state.faults.heldFor(request.method);
  // Sign in with Slack authenticates with the app's client credentials, not a token.
  const response =
    request.method === 'openid.connect.token'
      ? reply(200, await state.openid.token(credentials, request.headers.authorization))
      : execute(state, request, args, token);
  done();
  state.log.add({ method: request.method, args, token, at, response: structuredClone(response) });
  return response;
}

function execute(state: FakeState, request: ApiRequest, args: Json, token: string | undefined): ApiResponse {
  const unexpected = (reason: string): void =>
    state.log.unexpected({
      at: Date.now(),
      httpMethod: request.httpMethod,
      path: request.path,
      method: request.method,
      reason,
    });
  const spec = METHODS[request.method];
  if (!spec) {
    unexpected('unknown_method');
    return reply(200, { ok: false, error: 'unknown_method', req_method: request.method });
  }
  if (spec.auth === 'client') return clientAuthenticated(state, request, spec, args);
  if (token === undefined || token === '') {
    unexpected('not_authed');
    return reply(200, { ok: false, error: 'not_authed' });
  }
  const expected = spec.auth === 'config' ? state.identity.configToken : state.identity.botToken;
  if (token !== expected) {
    // A wrong configuration token is a person's typo on a setup page, not a misbehaving app.
    if (spec.auth !== 'config') unexpected('invalid_auth');
    return reply(200, { ok: false, error: 'invalid_auth' });
  }
  const scopeHeaders = {
    'x-oauth-scopes': state.workspace.scopes.join(','),
    'x-accepted-oauth-scopes': spec.scopes.join(','),
  };
  const injected = state.faults.takeFailure(request.method);
  if (injected) return injectedResponse(injected, scopeHeaders);
  if (spec.scopes.length > 0 && !spec.scopes.some((s) => state.workspace.hasScope(s))) {
    return reply(
      200,
      { ok: false, error: 'missing_scope', needed: spec.scopes[0], provided: state.workspace.scopes.join(',') },
      scopeHeaders,
    );
  }
  const paceChannel = request.method === 'chat.postMessage' ? paceKey(state, args) : undefined;
  if (paceChannel !== undefined) {
    const retryAfter = state.faults.paceRetryAfter(paceChannel);
    if (retryAfter !== undefined) {
      return reply(429, { ok: false, error: 'ratelimited' }, { ...scopeHeaders, 'retry-after': String(retryAfter) });
    }
  }
  try {
    const body = spec.run(state, new Args(args));
    if (paceChannel !== undefined) state.faults.recordAcceptedPost(paceChannel);
    return reply(200, { ok: true, ...body }, scopeHeaders);
  } catch (error) {
    if (error instanceof ApiFailure) {
      if (error.unexpected !== undefined) unexpected(error.unexpected);
      return reply(200, { ok: false, error: error.error, ...error.extra }, scopeHeaders);
    }
    unexpected(`fake crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return reply(500, { ok: false, error: 'fake_internal_error' }, scopeHeaders);
  }
}

/** oauth.v2.access: no token; client credentials in the form or as HTTP Basic. */
function clientAuthenticated(state: FakeState, request: ApiRequest, spec: MethodSpec, args: Json): ApiResponse {
  const injected = state.faults.takeFailure(request.method);
  if (injected) return injectedResponse(injected, {});
  const basicMatch = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  const decoded = basicMatch ? Buffer.from(basicMatch[1]!, 'base64').toString('utf8') : undefined;
  const basic = decoded?.includes(':')
    ? { user: decoded.slice(0, decoded.indexOf(':')), password: decoded.slice(decoded.indexOf(':') + 1) }
    : undefined;
  try {
    return reply(200, { ok: true, ...spec.run(state, new Args(args), basic) });
  } catch (error) {
    if (error instanceof ApiFailure) return reply(200, { ok: false, error: error.error, ...error.extra });
    throw error;
  }
}

function injectedResponse(failure: InjectedFailure, headers: Record<string, string>): ApiResponse {
  if ('error' in failure) return reply(200, { ok: false, error: failure.error, ...(failure.extra ?? {}) }, headers);
  const extra: Record<string, string> = { ...headers };
  const retryAfter = failure.retryAfter === undefined && failure.status === 429 ? 1 : failure.retryAfter;
  if (retryAfter !== undefined && retryAfter !== null) extra['retry-after'] = String(retryAfter);
  const body =
    failure.body ??
    (failure.status === 429 ? { ok: false, error: 'ratelimited' } : { ok: false, error: 'fake_http_error' });
  return reply(failure.status, body, extra);
}

/** Pacing is per channel; a post to a user id lands in (and is paced by) their DM. */
function paceKey(state: FakeState, args: Json): string | undefined {
  const channel = typeof args.channel === 'string' ? args.channel : undefined;
  if (channel === undefined) return undefined;
  return state.workspace.users.has(channel) && /^[UW]/.test(channel) ? `D${channel.slice(1)}` : channel;
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

function reply(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, body, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } };
}
