import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResponseUrls } from './response-urls.ts';
import type { SocketModeHub } from './socket-mode.ts';
import type { FakeState } from './web-api/context.ts';
import { bearerToken, handleApiRequest } from './web-api/index.ts';
import type { ApiResponse } from './web-api/index.ts';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The loopback HTTP server: POST /api/<method> (Web API) and POST /hooks/response/<id> (response_url); with a
 * Socket Mode hub also apps.connections.open and the WebSocket upgrade it hands out.
 */
export async function startServer(
  state: FakeState,
  responseUrls: ResponseUrls,
  socketMode?: SocketModeHub,
): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    route(state, responseUrls, req, socketMode)
      .then((response) => send(res, response))
      .catch((error: unknown) => {
        state.log.unexpected({
          at: Date.now(),
          httpMethod: req.method ?? '',
          path: req.url ?? '',
          reason: `fake crashed: ${String(error)}`,
        });
        send(res, {
          status: 500,
          headers: { 'content-type': 'application/json' },
          body: { ok: false, error: 'fake_internal_error' },
        });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  socketMode?.attach(server, `http://127.0.0.1:${port}`);
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        void socketMode?.close();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function route(
  state: FakeState,
  responseUrls: ResponseUrls,
  req: IncomingMessage,
  socketMode?: SocketModeHub,
): Promise<ApiResponse> {
  const rawBody = await readBody(req);
  const url = new URL(req.url ?? '/', 'http://fake-slack.invalid');
  const httpMethod = req.method ?? 'GET';
  const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
  if (socketMode && api?.[1] === 'apps.connections.open' && httpMethod === 'POST')
    return socketMode.connectionsOpen(bearerToken(req.headers.authorization), Date.now());
  if (api?.[1] && (httpMethod === 'POST' || httpMethod === 'GET')) {
    return handleApiRequest(state, {
      httpMethod,
      path: url.pathname,
      method: api[1],
      headers: req.headers,
      rawBody,
      query: url.searchParams,
    });
  }
  if (httpMethod === 'GET' && url.pathname === '/openid/connect/authorize')
    return state.openid.authorize(url.searchParams, req.headers.cookie);
  if (httpMethod === 'GET' && url.pathname === '/openid/connect/keys') return state.openid.jwks();
  if (url.pathname === '/oauth/v2/authorize') return authorizePage(state, httpMethod, url, rawBody);
  const hook = /^\/hooks\/response\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
  if (hook?.[1] && httpMethod === 'POST') return responseUrls.handle(hook[1], rawBody, url.pathname);
  state.log.unexpected({ at: Date.now(), httpMethod, path: url.pathname, reason: 'unknown_route' });
  return { status: 404, headers: { 'content-type': 'application/json' }, body: { ok: false, error: 'unknown_route' } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, response: ApiResponse): void {
  const payload = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  res.writeHead(response.status, response.headers);
  res.end(payload);
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Slack's consent page for installing an app (what "Install to workspace" opens): GET shows what the app asks
 * for and an Allow button; posting it redirects to the app's redirect URL with a one-time code and the state.
 */
function authorizePage(state: FakeState, httpMethod: string, url: URL, rawBody: string): ApiResponse {
  const html = (status: number, body: string): ApiResponse => ({
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html><head><title>Slack</title></head><body>${body}</body></html>`,
  });
  const params = httpMethod === 'POST' ? new URLSearchParams(rawBody) : url.searchParams;
  const clientId = params.get('client_id') ?? '';
  const app = state.apps.latest();
  if (clientId !== state.identity.clientId || !app) return html(400, '<h1>Invalid client_id parameter</h1>');
  const redirectUri = params.get('redirect_uri') ?? app.redirectUrls[0];
  if (!redirectUri || !app.redirectUrls.some((r) => redirectUri.startsWith(r)))
    return html(400, '<h1>redirect_uri did not match any configured URIs</h1>');
  if (httpMethod !== 'POST') {
    const name = String((app.manifest.display_information as Record<string, unknown> | undefined)?.name ?? 'app');
    const hidden = [...url.searchParams]
      .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`)
      .join('');
    return html(
      200,
      `<h1>${escape(name)} is requesting permission to access the ${escape(state.identity.teamDomain)} ` +
        `Slack workspace</h1><p>Scopes: ${escape(params.get('scope') ?? '')}</p>` +
        `<form method="post" action="/oauth/v2/authorize">${hidden}<button type="submit">Allow</button></form>`,
    );
  }
  const target = new URL(redirectUri);
  target.searchParams.set('code', state.apps.issueCode(clientId, params.get('redirect_uri') ?? undefined));
  const stateParam = params.get('state');
  if (stateParam !== null) target.searchParams.set('state', stateParam);
  return { status: 302, headers: { location: target.href }, body: '' };
}
