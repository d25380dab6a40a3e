// The node:http side: read, record, inject failures, dispatch (/api/v4, /oauth), answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Ctx } from '../context.ts';
import { handleOAuth, oauthRouteOf } from '../oauth.ts';
import type { ApiRoute } from '../routes/common.ts';
import { annotateApiRequest, handleApi, isApiPath } from './api.ts';
import { readIncoming } from './body.ts';
import type { Faults } from './faults.ts';
import { message, type HttpResult, type Incoming, type RecordedRequest } from './types.ts';

export interface AppDeps {
  ctx: Ctx;
  routes: readonly ApiRoute[];
  faults: Faults;
  requests: RecordedRequest[];
  asOneAction<T>(fn: () => T): T;
}

function send(res: ServerResponse, result: HttpResult, head: boolean): void {
  const headers: Record<string, string> = { ...result.headers };
  let body = '';
  if (result.json !== undefined) {
    body = JSON.stringify(result.json);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['Content-Type'] = 'application/json';
  } else if (result.text !== undefined) {
    body = result.text;
  }
  res.writeHead(result.status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(head ? undefined : body);
}

function dispatch(deps: AppDeps, incoming: Incoming, record: RecordedRequest): HttpResult {
  if (isApiPath(incoming.rawPath)) return handleApi(deps, incoming, record);
  if (incoming.rawPath.startsWith('/oauth/')) {
    record.route = oauthRouteOf(incoming);
    return deps.asOneAction(() => handleOAuth(deps.ctx, incoming)) ?? message(404, '404 Not Found');
  }
  return message(404, '404 Not Found');
}

export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

export async function startApp(deps: AppDeps, onUrl: (url: string) => void): Promise<RunningApp> {
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let closing = false;
  let markClosed: () => void = () => {};
  const shutDown = new Promise<void>((resolve) => (markClosed = resolve));
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const entry = { timer: setTimeout(() => (timers.delete(entry), resolve()), ms), resolve };
      timers.add(entry);
    });

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const incoming = await readIncoming(req, url);
    const record: RecordedRequest = {
      seq: deps.requests.length,
      method: incoming.method,
      path: incoming.rawPath,
      query: incoming.query,
      headers: incoming.headers,
      body: incoming.body,
      route: null,
      status: 0,
      responseBody: undefined,
      actingUser: null,
      tokenUser: null,
      viaSudo: false,
      tokenKind: null,
      injected: false,
    };
    deps.requests.push(record);
    const fault = deps.faults.take(incoming);
    if (fault && fault.delayMs > 0) await sleep(fault.delayMs);
    if (fault?.until) await Promise.race([fault.until.catch(() => undefined), shutDown]);
    if (closing) return;
    let result: HttpResult;
    if (fault?.result && !fault.processFirst) {
      result = fault.result;
      if (isApiPath(incoming.rawPath)) annotateApiRequest(deps, incoming, record);
      else record.route = oauthRouteOf(incoming);
    } else {
      result = dispatch(deps, incoming, record);
      if (fault?.result) result = fault.result;
    }
    if (fault?.result) record.injected = true;
    record.status = result.status;
    record.responseBody = result.json ?? result.text;
    send(res, result, incoming.method === 'HEAD');
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      console.error('fake GitLab: handler crashed', error);
      if (!res.headersSent) send(res, message(500, '500 Internal Server Error'), false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  onUrl(url);
  return {
    url,
    close: async () => {
      closing = true;
      markClosed();
      for (const entry of timers) {
        clearTimeout(entry.timer);
        entry.resolve();
      }
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
