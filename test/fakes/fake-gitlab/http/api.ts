// /api/v4 pipeline: throttle (Rack::Attack runs first) -> route -> authenticate -> handler.
import type { Ctx } from '../context.ts';
import type { ApiRoute } from '../routes/common.ts';
import { authenticate, peekTokenUser, READ_SCOPES, WRITE_SCOPES } from './auth.ts';
import type { Faults } from './faults.ts';
import { matchRoute } from './router.ts';
import { message, type HttpResult, type Incoming, type RecordedRequest } from './types.ts';

export const API_PREFIX = '/api/v4';

export interface ApiDeps {
  ctx: Ctx;
  routes: readonly ApiRoute[];
  faults: Faults;
  /** Runs the handler as one "request" for X-Gitlab-Event-UUID purposes. */
  asOneAction<T>(fn: () => T): T;
}

export function handleApi(deps: ApiDeps, incoming: Incoming, record: RecordedRequest): HttpResult {
  const { ctx } = deps;
  const peeked = peekTokenUser(ctx, incoming);
  const throttled = deps.faults.throttle(peeked ? `user:${peeked.id}` : 'ip:127.0.0.1');
  if (throttled) {
    record.injected = true;
    return throttled;
  }
  const path = incoming.rawPath.slice(API_PREFIX.length) || '/';
  const match = matchRoute(deps.routes, incoming.method, path);
  if (!match) return message(404, '404 Not Found');
  record.route = `${match.route.method} ${match.route.pattern}`;
  if (incoming.bodyError !== null) return message(400, `400 Bad request - ${incoming.bodyError}`);

  const readOnly = incoming.method === 'GET' || incoming.method === 'HEAD';
  const scopes = match.route.scopes ?? (readOnly ? READ_SCOPES : WRITE_SCOPES);
  // read_api (and read_user) never reach a write endpoint, whatever the route lists.
  const allowed = readOnly ? scopes : scopes.filter((s) => s === 'api');
  const auth = authenticate(ctx, incoming, allowed);
  const tokenUser = auth.tokenUser;
  record.tokenKind = auth.token?.kind ?? null;
  record.tokenUser = tokenUser ? { id: tokenUser.id, username: tokenUser.username } : null;
  if (!auth.ok) return auth.result;
  record.actingUser = { id: auth.user.id, username: auth.user.username };
  record.viaSudo = auth.viaSudo;
  return deps.asOneAction(() =>
    match.route.handle({ ctx, incoming, params: match.params, user: auth.user, token: auth.token, viaSudo: auth.viaSudo }),
  );
}
