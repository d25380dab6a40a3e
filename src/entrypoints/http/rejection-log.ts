import type { Logger } from '../../core/ports.ts';

/** Kinds of rejected requests; each has its own budget of log lines. */
export type RejectionKind = 'webhook_token' | 'slack_signature' | 'rate_limited' | 'bad_request';

export type RejectionLog = {
  /** Logs the rejection (warn) while this kind's budget for the minute lasts; counts it otherwise. */
  note(kind: RejectionKind, fields: Record<string, unknown>, msg: string): void;
};

/** Lines per kind and minute; a flood beyond it is summed up in one line when the minute is over. */
export const REJECTIONS_LOGGED_PER_MINUTE = 10;
const WINDOW_MS = 60_000;
/** Caller-supplied values (headers) are cut to this many characters in log lines. */
const FIELD_CHARS = 100;

/**
 * Rejected requests (401, 403, 429, forged webhooks, bad signatures) are logged sampled and bounded: at most
 * REJECTIONS_LOGGED_PER_MINUTE lines per kind and minute, then one summary of how many more there were. A flood
 * of forged requests costs a few log lines, not one per request; state is one counter per kind.
 */
export function createRejectionLog(
  logger: Logger,
  opts: { perMinute?: number; now?: () => number } = {},
): RejectionLog {
  const perMinute = opts.perMinute ?? REJECTIONS_LOGGED_PER_MINUTE;
  const now = opts.now ?? Date.now;
  const windows = new Map<RejectionKind, { start: number; logged: number; suppressed: number }>();
  const clip = (fields: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [
        k,
        typeof v === 'string' && v.length > FIELD_CHARS ? `${v.slice(0, FIELD_CHARS)}…` : v,
      ]),
    );
  return {
    note(kind, fields, msg) {
      const t = now();
      let window = windows.get(kind);
      if (!window || t - window.start >= WINDOW_MS) {
        if (window && window.suppressed > 0)
          logger.warn(
            { rejection: kind, notLogged: window.suppressed, seconds: Math.round((t - window.start) / 1000) },
            'more rejected requests were not logged',
          );
        window = { start: t, logged: 0, suppressed: 0 };
        windows.set(kind, window);
      }
      if (window.logged < perMinute) {
        window.logged += 1;
        logger.warn({ rejection: kind, ...clip(fields) }, msg);
      } else window.suppressed += 1;
    },
  };
}
