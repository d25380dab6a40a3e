import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/ports.ts';
import { secureEquals } from '../../lib/secure-compare.ts';
import { clientAddress, type TrustProxy } from './client-address.ts';
import type { RejectionLog } from './rejection-log.ts';
import type { IntakeEvent } from '../../core/intake/intake-event.ts';
import { isHandledHook, parseHook } from './webhook-events.ts';

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;
/**
 * How much of a body over the limit is read (and thrown away) so that the client hears the 413 (GitLab sends up to
 * 25 MB), and for how long (GitLab's own webhook timeout is 10 s).
 */
export const WEBHOOK_DISCARD_LIMIT = 32 * 1024 * 1024;
export const WEBHOOK_DISCARD_MS = 10_000;
export const WEBHOOK_PATH = '/webhooks/gitlab';

export type WebhookDeps = {
  secret: string;
  enqueue(event: IntakeEvent, deliveryKey: string): Promise<'queued' | 'duplicate'>;
  logger: Logger;
  /** counts outcomes for /metrics (which bounds the hook name to GitLab's own and `other`) */
  observe?(hook: string | undefined, result: string): void;
  /** forged requests are logged sampled (a flood costs a few lines) */
  rejections?: RejectionLog;
  /** TRUSTED_PROXIES: whose X-Forwarded-For names the client */
  trustProxy?: TrustProxy;
  /** how long a body over the limit is read and discarded before the connection is cut (default 10 s) */
  discardMs?: number;
};

export type WebhookIntake = {
  /** POST /webhooks/gitlab carrying the right X-Gitlab-Token: the requests `accept` takes without express. */
  isVerifiedDelivery(req: IncomingMessage): boolean;
  /** the whole route: token, body, parse, enqueue, answer */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** the route after the token check (for requests isVerifiedDelivery said yes to) */
  accept(req: IncomingMessage, res: ServerResponse): void;
};

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function reply(res: ServerResponse, status: number, body?: Record<string, unknown>): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status, { 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/**
 * POST /webhooks/gitlab: verify, read, parse, enqueue, answer, in that order and in milliseconds.
 * GitLab never re-sends and disables hooks that fail, so only misconfiguration gets a 4xx, and a
 * 503 (Redis down) is the honest answer when the event could not be stored.
 *
 * Written on node:http alone: GitLab's own deliveries (the right token) are served before express sees them, which
 * halves the CPU of the busiest route (BENCHMARKS.md). Everything else, forged requests included, goes through
 * express, its per-address rate limit, and then `handle`.
 */
export function createWebhookIntake(deps: WebhookDeps): WebhookIntake {
  const observe = deps.observe ?? (() => {});
  const { logger } = deps;

  const isVerifiedDelivery = (req: IncomingMessage) =>
    req.method === 'POST' &&
    (req.url === WEBHOOK_PATH || req.url?.startsWith(`${WEBHOOK_PATH}?`) === true) &&
    secureEquals(header(req, 'x-gitlab-token'), deps.secret);

  const store = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const hook = header(req, 'x-gitlab-event');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      observe(hook, 'malformed');
      logger.warn({ event: hook, bytes: raw.length }, 'webhook rejected: body is not JSON');
      reply(res, 400, { error: 'body is not valid JSON' });
      return;
    }
    if (!isHandledHook(hook)) {
      observe(hook, 'ignored');
      reply(res, 200, {
        status: 'ignored',
        reason: `greenlight does not use ${hook ?? 'events without X-Gitlab-Event'}`,
      });
      return;
    }
    const parsed = parseHook(hook, body);
    if (!parsed.ok) {
      observe(hook, 'malformed');
      logger.warn({ event: hook, reason: parsed.reason }, 'webhook rejected: payload does not fit');
      reply(res, 400, { error: parsed.reason });
      return;
    }
    // an empty Idempotency-Key names nothing: the body's digest identifies the delivery then
    const deliveryKey = header(req, 'idempotency-key') || `sha256-${createHash('sha256').update(raw).digest('hex')}`;
    if (parsed.skipped)
      logger.warn({ event: hook, deliveryKey, skipped: parsed.skipped }, 'webhook parts skipped: they do not fit');
    try {
      const result = await deps.enqueue(parsed.event, deliveryKey);
      observe(hook, result);
      logger.info(
        { event: hook, deliveryKey, kind: parsed.event.kind, projectId: parsed.event.projectId, result },
        'webhook accepted',
      );
      reply(res, result === 'queued' ? 202 : 200);
    } catch (error) {
      observe(hook, 'unavailable');
      logger.error({ event: hook, deliveryKey, err: error }, 'webhook not stored: queue unavailable');
      reply(res, 503, { error: 'greenlight cannot store events right now; GitLab will record this failure' });
    }
  };

  /**
   * 413, and the connection closed only once the client has stopped sending. A server that closes a connection
   * while request bytes are still arriving makes the kernel answer them with a reset, and the client (GitLab)
   * records a network error instead of the 413 (and may never read it). So the answer goes out at once, complete
   * (Content-Length), but the response is ended, and with it the connection, only when the body has been read and
   * discarded, up to WEBHOOK_DISCARD_LIMIT bytes and WEBHOOK_DISCARD_MS; past either, or when the declared length
   * is beyond the byte bound, the connection is cut.
   */
  const tooLarge = (req: IncomingMessage, res: ServerResponse, bytes: number, received: number) => {
    observe(header(req, 'x-gitlab-event'), 'malformed');
    logger.warn({ path: WEBHOOK_PATH, status: 413, bytes }, 'request rejected');
    if (res.headersSent) return;
    const text = JSON.stringify({ error: 'body too large' });
    res.writeHead(413, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      connection: 'close',
    });
    res.write(text);
    if (req.complete) {
      res.end();
      return;
    }
    if (bytes > WEBHOOK_DISCARD_LIMIT) {
      res.once('finish', () => req.destroy());
      res.end();
      return;
    }
    let discarded = received;
    const finish = (then?: () => void) => {
      clearTimeout(timer);
      req.off('data', discard);
      if (res.writableEnded) return;
      if (then) res.once('finish', then);
      res.end();
    };
    const cut = () => finish(() => req.destroy());
    const discard = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > WEBHOOK_DISCARD_LIMIT) cut();
    };
    const timer = setTimeout(cut, deps.discardMs ?? WEBHOOK_DISCARD_MS);
    req.on('data', discard);
    req.once('end', () => finish());
    req.once('close', () => clearTimeout(timer));
    req.resume();
  };

  const accept = (req: IncomingMessage, res: ServerResponse) => {
    const encoding = header(req, 'content-encoding')?.toLowerCase();
    if (encoding !== undefined && encoding !== 'identity') {
      observe(header(req, 'x-gitlab-event'), 'malformed');
      logger.warn({ path: WEBHOOK_PATH, status: 415, encoding }, 'request rejected');
      reply(res, 415, { error: `unsupported content encoding "${encoding}"` });
      return;
    }
    const declared = Number(header(req, 'content-length') ?? 0);
    if (declared > WEBHOOK_BODY_LIMIT) {
      tooLarge(req, res, declared, 0);
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > WEBHOOK_BODY_LIMIT) {
        req.off('data', onData).off('end', onEnd);
        tooLarge(req, res, bytes, bytes);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      store(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes)).catch((error: unknown) => {
        logger.error({ path: WEBHOOK_PATH, err: error }, 'request failed');
        reply(res, 500, { error: 'internal error' });
      });
    };
    req.on('data', onData).on('end', onEnd);
    // A client that goes away mid-body gets no answer; there is nothing to store.
    req.on('error', (error) => logger.debug({ path: WEBHOOK_PATH, err: error.message }, 'webhook body not received'));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // Checked before the body is read: a forged request costs us nothing.
    if (!secureEquals(header(req, 'x-gitlab-token'), deps.secret)) {
      const hook = header(req, 'x-gitlab-event');
      observe(hook, 'unauthorized');
      const ip = clientAddress(req, deps.trustProxy ?? (() => false));
      const message = 'webhook rejected: X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET';
      if (deps.rejections) deps.rejections.note('webhook_token', { event: hook, ip }, message);
      else logger.warn({ event: hook?.slice(0, 100), ip }, message);
      reply(res, 401, { error: 'invalid X-Gitlab-Token' });
      return;
    }
    accept(req, res);
  };

  return { isVerifiedDelivery, handle, accept };
}
