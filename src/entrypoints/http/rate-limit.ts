import type { Express, NextFunction, Request, Response } from 'express';
import type { Logger } from '../../core/ports.ts';
import { secureEquals } from '../../lib/secure-compare.ts';
import { WEBHOOK_PATH } from './gitlab-webhook.ts';
import type { RejectionLog } from './rejection-log.ts';

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export type RateLimitRule = { perSecond: number; burst: number };

/**
 * Per client IP, per replica (in memory: a flood is stopped where it lands, and nothing is written to Redis
 * for requests that prove nothing). Generous for the platforms that call us; GitLab disables a webhook after
 * four failures in a row, so the webhook limit must never be reached by real GitLab traffic.
 */
export const RATE_LIMITS = {
  webhooks: { perSecond: 50, burst: 500 },
  slack: { perSecond: 50, burst: 500 },
  oauth: { perSecond: 1, burst: 20 },
} as const satisfies Record<string, RateLimitRule>;

export type RateLimitName = keyof typeof RATE_LIMITS;

type Bucket = { tokens: number; at: number; warnedAt: number };

/** Buckets kept at most; the least recently used go first (an address that comes back starts full). */
const MAX_TRACKED = 20_000;

/** `exempt`: requests that are neither counted nor limited (e.g. webhooks that carry the secret). */
export function perIpRateLimit(
  name: string,
  rule: RateLimitRule,
  logger: Logger,
  now: () => number = Date.now,
  exempt?: (req: Request) => boolean,
  rejections?: RejectionLog,
) {
  const buckets = new Map<string, Bucket>();
  return (req: Request, res: Response, next: NextFunction): void => {
    if (exempt?.(req)) {
      next();
      return;
    }
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const t = now();
    const bucket = buckets.get(ip) ?? { tokens: rule.burst, at: t, warnedAt: 0 };
    buckets.delete(ip);
    bucket.tokens = Math.min(rule.burst, bucket.tokens + ((t - bucket.at) / 1000) * rule.perSecond);
    bucket.at = t;
    buckets.set(ip, bucket);
    if (buckets.size > MAX_TRACKED) buckets.delete(buckets.keys().next().value as string);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      next();
      return;
    }
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / rule.perSecond));
    // One line per address and minute, and few per minute overall (addresses can rotate): sampled.
    if (t - bucket.warnedAt > 60_000) {
      bucket.warnedAt = t;
      const fields = { limit: name, ip, perSecond: rule.perSecond, burst: rule.burst };
      if (rejections) rejections.note('rate_limited', fields, 'rate limit reached; answering 429');
      else logger.warn(fields, 'rate limit reached; answering 429');
    }
    res.set('Retry-After', String(retryAfter)).status(429).json({ error: 'too many requests' });
  };
}

/**
 * The per-address limits of the public routes. Only webhooks without the secret count: GitLab sends every hook
 * from the same few addresses, a burst of deployments exceeds any per-address limit, and GitLab disables a hook
 * after four 429s in a row.
 */
export function limitPublicRoutes(
  http: Express,
  opts: {
    limits?: Partial<Record<RateLimitName, RateLimitRule>>;
    webhookSecret: string;
    logger: Logger;
    rejections?: RejectionLog;
  },
): void {
  const limits = { ...RATE_LIMITS, ...opts.limits };
  const fromGitLab = (req: Request) => secureEquals(req.get('x-gitlab-token'), opts.webhookSecret);
  const { logger, rejections } = opts;
  http.use(WEBHOOK_PATH, perIpRateLimit('webhooks', limits.webhooks, logger, undefined, fromGitLab, rejections));
  http.use('/slack/events', perIpRateLimit('slack', limits.slack, logger, undefined, undefined, rejections));
  http.use('/oauth', perIpRateLimit('oauth', limits.oauth, logger, undefined, undefined, rejections));
}
