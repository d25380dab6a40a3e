// /api/v4 pipeline: throttle (Rack::Attack runs first) -> route -> authenticate -> handler.
import type { Ctx } from '../context.ts';
import type { ApiRoute } from '../routes/common.ts';
import { authenticate, peekTokenUser, READ_SCOPES, WRITE_SCOPES, type AuthOutcome } from './auth.ts';
import type { Faults } from './faults.ts';
import { matchRoute, type RouteMatch } from './router.ts';
import { message, type HttpResult, type Incoming, type RecordedRequest } from './types.ts';

export const API_PREFIX = '/api/v4';

export interface ApiDeps {
  ctx: Ctx;
  routes: readonly ApiRoute[];
  faults: Faults;
  /** Runs the handler as one "request" for X-Gitlab-Event-UUID purposes. */
  asOneAction<T>(fn: () => T): T;
}

export const isApiPath = (path: string): boolean => path === API_PREFIX || path.startsWith(`${API_PREFIX}/`);

interface Annotated {
  match: RouteMatch<ApiRoute> | null;
  auth: AuthOutcome | null;
}

/**
 * Fill the record with the route and who the request acts as. Side-effect free, so it also describes
 * requests answered by failNext or the rate limiter ("would have acted as").
 */
export function annotateApiRequest(deps: ApiDeps, incoming: Incoming, record: RecordedRequest): Annotated {
  const path = incoming.rawPath.slice(API_PREFIX.length) || '/';
  const match = matchRoute(deps.routes, incoming.method, path);
  if (!match) return { match, auth: null };
  record.route = `${match.route.method} ${match.route.pattern}`;
  const readOnly = incoming.method === 'GET' || incoming.method === 'HEAD';
  const scopes = match.route.scopes ?? (readOnly ? READ_SCOPES : WRITE_SCOPES);
  // read_api (and read_user) never reach a write endpoint, whatever the route lists.
  const auth = authenticate(deps.ctx, incoming, readOnly ? scopes : scopes.filter((s) => s === 'api'));
  record.tokenKind = auth.token?.kind ?? null;
  record.tokenUser = auth.tokenUser ? { id: auth.tokenUser.id, username: auth.tokenUser.username } : null;
  if (auth.ok) {
    record.actingUser = { id: auth.user.id, username: auth.user.username };
    record.viaSudo = auth.viaSudo;
  }
  return { match, auth };
}

export function handleApi(deps: ApiDeps, incoming: Incoming, record: RecordedRequest): HttpResult {
  const { ctx } = deps;
  const { match, auth } = annotateApiRequest(deps, incoming, record);
  const peeked = peekTokenUser(ctx, incoming);
  const throttled = deps.faults.throttle(peeked ? `user:${peeked.id}` : 'ip:127.0.0.1');
  if (throttled) {
    record.injected = true;
    return throttled;
  }
  if (!match || !auth) return message(404, '404 Not Found');
  if (incoming.bodyError !== null) return message(400, `400 Bad request - ${incoming.bodyError}`);
  if (!auth.ok) return auth.result;
  return deps.asOneAction(() =>
    match.route.handle({
      ctx,
      incoming,
      params: match.params,
      user: auth.user,
      token: auth.token,
      viaSudo: auth.viaSudo,
    }),
  );
}
