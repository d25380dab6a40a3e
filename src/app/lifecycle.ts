import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from '../core/ports.ts';
import { finishHttpApp, listRoutes, type HttpRoute } from '../entrypoints/http/app.ts';
import type { WebhookIntake } from '../entrypoints/http/gitlab-webhook.ts';
import type { RejectionLog } from '../entrypoints/http/rejection-log.ts';

export type HttpServer = {
  /** `front`: requests served before express (GitLab's verified webhook deliveries); the rest go to `http`. */
  listen(http: Express, front?: WebhookIntake): Promise<number>;
  close(): Promise<void>;
  url(): string | null;
  routes(): HttpRoute[];
};

export function createHttpServer(opts: { port: number; logger: Logger; rejections: RejectionLog }): HttpServer {
  let server: Server | null = null;
  let served: Express | null = null;
  return {
    async listen(http, front) {
      finishHttpApp(http, opts.logger, opts.rejections);
      served = http;
      const handler: RequestListener = front
        ? (req, res) => (front.isVerifiedDelivery(req) ? front.accept(req, res) : http(req, res))
        : http;
      const s = createServer(handler);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(opts.port, () => resolve());
      });
      s.keepAliveTimeout = 65_000;
      return (s.address() as AddressInfo).port;
    },
    async close() {
      if (server) await closeServer(server);
    },
    url() {
      const address = server?.address();
      return address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : null;
    },
    routes: () => (served ? listRoutes(served) : []),
  };
}

/**
 * Stops accepting connections and lets requests in flight finish. A keep-alive connection that was busy
 * when close() was called turns idle afterwards and would hold close() open until its keep-alive timeout
 * (65 s): idle connections are closed as they appear, and whatever is left after `graceMs` is cut.
 */
async function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
