import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../core/ports.ts';
import type { TrustProxy } from './client-address.ts';
import type { RejectionLog } from './rejection-log.ts';

export type HttpDeps = {
  logger: Logger;
  /** TRUSTED_PROXIES: whose X-Forwarded-For req.ip believes (nobody's when none are listed) */
  trustProxy?: TrustProxy;
  /** true when every dependency the web role needs answers */
  ready(): Promise<boolean>;
  metrics?(): Promise<{ contentType: string; body: string }>;
};

/** The express app: health and metrics here; routers (webhooks, OAuth, Slack) are mounted by main. */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await deps.ready().catch(() => false);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable' });
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (_req, res) => {
      const { contentType, body } = await metrics();
      res.type(contentType).send(body);
    });
  }
  return app;
}

/** Installed last: unknown paths get 404, body errors their own status, nothing leaks a stack trace. */
export function finishHttpApp(app: Express, logger: Logger, rejections?: RejectionLog): void {
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((error: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 600 ? error.status : 500;
    if (status >= 500) logger.error({ err: error, path: req.path }, 'request failed');
    else if (rejections)
      rejections.note(
        'bad_request',
        { path: req.path, status, reason: error.type ?? error.message, ip: req.ip },
        'request rejected',
      );
    else logger.warn({ path: req.path, status, reason: error.type ?? error.message }, 'request rejected');
    if (res.headersSent) return;
    const message = status === 413 ? 'body too large' : status < 500 ? 'bad request' : 'internal error';
    res.status(status).json({ error: message });
  });
}

export type HttpRoute = { method: string; path: string };

type Layer = { route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };

/**
 * Every route the express app serves (routers mounted at the root included): what an ingress must expose and
 * what a test compares the Helm chart with. Middleware without a route (rate limits, 404) is not a route.
 */
export function listRoutes(app: Express): HttpRoute[] {
  const out: HttpRoute[] = [];
  const walk = (stack: readonly Layer[]) => {
    for (const layer of stack) {
      if (layer.route && typeof layer.route.path === 'string')
        for (const [method, on] of Object.entries(layer.route.methods))
          if (on && method !== '_all') out.push({ method: method.toUpperCase(), path: layer.route.path });
      if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
