import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

type ServerHandler = (req: { method: string; url: string; status: number; at: number }) => void;
type ClientHandler = (req: { path: string; headers: Record<string, string>; status: number; at: number }) => void;

/**
 * Timestamps of what the fakes serve and what the fake GitLab sends, taken from Node's built-in diagnostics
 * channels in the bench process: nothing polls, and the fakes need no hooks of their own.
 * `at` is performance.now() (ms) when the response was finished (server side) or its headers came in (client side).
 */
export class HttpObserver {
  readonly #servers = new Map<number, ServerHandler>();
  readonly #clients = new Map<string, ClientHandler>();

  readonly #onServer = (message: unknown) => {
    const { request, response, server } = message as {
      request: IncomingMessage;
      response: ServerResponse;
      server: Server;
    };
    const address = server.address();
    const handler = typeof address === 'object' && address ? this.#servers.get(address.port) : undefined;
    handler?.({
      method: request.method ?? '',
      url: request.url ?? '',
      status: response.statusCode,
      at: performance.now(),
    });
  };

  readonly #onClient = (message: unknown) => {
    const { request, response } = message as {
      request: { origin: string; path: string; headers: string[] | string };
      response: { statusCode: number };
    };
    const handler = this.#clients.get(request.origin);
    if (!handler) return;
    const headers: Record<string, string> = {};
    const list = Array.isArray(request.headers) ? request.headers : [];
    for (let i = 0; i + 1 < list.length; i += 2) headers[String(list[i]).toLowerCase()] = String(list[i + 1]);
    handler({ path: request.path, headers, status: response.statusCode, at: performance.now() });
  };

  constructor() {
    diagnostics.subscribe('http.server.response.finish', this.#onServer);
    diagnostics.subscribe('undici:request:headers', this.#onClient);
  }

  /** Every response a server of this process on `url`'s port finishes. */
  served(url: string, handler: ServerHandler): void {
    this.#servers.set(Number(new URL(url).port), handler);
  }

  /** Every fetch() answer from `url`'s origin (the fake GitLab's webhook deliveries to the app). */
  fetched(url: string, handler: ClientHandler): void {
    this.#clients.set(new URL(url).origin, handler);
  }

  close(): void {
    diagnostics.unsubscribe('http.server.response.finish', this.#onServer);
    diagnostics.unsubscribe('undici:request:headers', this.#onClient);
  }
}
