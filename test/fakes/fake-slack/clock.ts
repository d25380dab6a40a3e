import { randomBytes, randomInt } from 'node:crypto';

/**
 * Slack's notion of time inside the fake. Tests can move it forward (`advance`) to expire trigger_ids and
 * response_urls or to leave a pacing window without sleeping. Request signatures always use the real clock.
 */
export interface Clock {
  now(): number;
  advance(ms: number): void;
  /** A message ts "<secs>.<6 digits>", strictly increasing across the whole fake. */
  nextTs(): string;
}

export function createClock(): Clock {
  let offsetMs = 0;
  let lastMicros = 0;
  const now = (): number => Date.now() + offsetMs;
  return {
    now,
    advance(ms) {
      offsetMs += ms;
    },
    nextTs() {
      lastMicros = Math.max(now() * 1000, lastMicros + 1);
      return formatTs(lastMicros);
    },
  };
}

export function formatTs(micros: number): string {
  const secs = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000).padStart(6, '0');
  return `${secs}.${frac}`;
}

export function tsToMillis(ts: string): number {
  return Math.floor(Number(ts) * 1000);
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomId(prefix: string, length = 10): string {
  let id = prefix;
  for (let i = 0; i < length; i += 1) id += ID_CHARS[randomInt(ID_CHARS.length)];
  return id;
}

/** Looks like Slack's: "7512345678901.1234567890123.0a1b2c3d4e5f67890a1b2c3d4e5f6789". */
export function randomTriggerId(): string {
  return `${randomDigits(13)}.${randomDigits(13)}.${randomBytes(16).toString('hex')}`;
}

/** Slack's generated block_ids are short random strings such as "xB3k+". */
export function randomBlockId(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=+/';
  let id = '';
  for (let i = 0; i < 5; i += 1) id += chars[randomInt(chars.length)];
  return id;
}

export function randomSecret(length = 24): string {
  return randomBytes(length).toString('base64url').slice(0, length);
}

function randomDigits(n: number): string {
  let s = String(randomInt(1, 10));
  while (s.length < n) s += String(randomInt(10));
  return s;
}
