/**
 * The fake's notion of "now": real time plus an offset that tests move forward with advanceClock().
 * Every fake timestamp reads it: entity created_at/updated_at, token and OAuth-code expiry, rate-limit
 * windows, webhook auto-disable backoff. Real waits (webhook HTTP timeout, failNext delayMs) do not.
 */
export interface Clock {
  now(): number;
  advance(ms: number): void;
}

export function createClock(): Clock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`advanceClock: ms must be a non-negative number, got ${ms}`);
      offset += ms;
    },
  };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function utcParts(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** REST and approval-event format: "2026-05-08T10:30:00.000Z". */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Ruby Time#to_s, used by lifecycle deployment events: "2021-04-28 19:50:00 +0000". */
export function rubyTime(ms: number): string {
  return `${utcParts(ms)} +0000`;
}

/** Pipeline hook timestamps: "2016-08-12 15:23:28 UTC". */
export function utcTime(ms: number | null): string | null {
  return ms === null ? null : `${utcParts(ms)} UTC`;
}

/** GitLab dates (PAT expires_at): "2026-05-08". */
export function isoDate(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().slice(0, 10);
}
