import { createHash } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from '../../core/ports.ts';
import { secureEquals } from '../../lib/secure-compare.ts';
import { isHandledHook, parseHook, type IntakeEvent } from './webhook-events.ts';

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export type WebhookDeps = {
  secret: string;
  enqueue(event: IntakeEvent, deliveryKey: string): Promise<'queued' | 'duplicate'>;
  logger: Logger;
  /** counts outcomes for /metrics */
  observe?(hook: string, result: string): void;
};

/**
 * POST /webhooks/gitlab: verify, parse, enqueue, answer, in that order and in milliseconds.
 * GitLab never re-sends and disables hooks that fail, so only misconfiguration gets a 4xx, and a
 * 503 (Redis down) is the honest answer when the event could not be stored.
 */
export function gitlabWebhookRouter(deps: WebhookDeps): Router {
  const router = express.Router();
  const observe = deps.observe ?? (() => {});
  router.post(
    '/webhooks/gitlab',
    (req: Request, res: Response, next) => {
      // Checked before the body is read: a forged request costs us nothing.
      if (!secureEquals(req.get('x-gitlab-token'), deps.secret)) {
        observe(req.get('x-gitlab-event') ?? 'unknown', 'unauthorized');
        deps.logger.warn({ event: req.get('x-gitlab-event'), ip: req.ip }, 'webhook rejected: X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET');
        res.status(401).json({ error: 'invalid X-Gitlab-Token' });
        return;
      }
      next();
    },
    express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }),
    async (req: Request, res: Response) => {
      const hook = req.get('x-gitlab-event');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        observe(hook ?? 'unknown', 'malformed');
        deps.logger.warn({ event: hook, bytes: raw.length }, 'webhook rejected: body is not JSON');
        res.status(400).json({ error: 'body is not valid JSON' });
        return;
      }
      if (!isHandledHook(hook)) {
        observe(hook ?? 'unknown', 'ignored');
        res.status(200).json({ status: 'ignored', reason: `greenlight does not use ${hook ?? 'events without X-Gitlab-Event'}` });
        return;
      }
      const parsed = parseHook(hook, body);
      if (!parsed.ok) {
        observe(hook, 'malformed');
        deps.logger.warn({ event: hook, reason: parsed.reason }, 'webhook rejected: payload does not fit');
        res.status(400).json({ error: parsed.reason });
        return;
      }
      const deliveryKey = req.get('idempotency-key') ?? `sha256-${createHash('sha256').update(raw).digest('hex')}`;
      try {
        const result = await deps.enqueue(parsed.event, deliveryKey);
        observe(hook, result);
        deps.logger.info({ event: hook, deliveryKey, kind: parsed.event.kind, projectId: parsed.event.projectId, result }, 'webhook accepted');
        res.status(result === 'queued' ? 202 : 200).end();
      } catch (error) {
        observe(hook, 'unavailable');
        deps.logger.error({ event: hook, deliveryKey, err: error }, 'webhook not stored: queue unavailable');
        res.status(503).json({ error: 'greenlight cannot store events right now; GitLab will record this failure' });
      }
    },
  );
  return router;
}
