import type { DeploymentRef } from './deployments/deployment.ts';

/** Ports every part of the core may need; they name no domain type beyond a deployment's reference. */

/**
 * How a job is queued: `background` work (the sweep's) waits behind work that webhooks and people asked for,
 * and may start `delayMs` later (a sweep spreads its work over its interval).
 */
export type JobPlacement = { background?: boolean; delayMs?: number };

export interface WorkQueue {
  /** Re-read one deployment and bring its card up to date (deduplicated per deployment). */
  requestSync(ref: DeploymentRef, reason: string, placement?: JobPlacement): Promise<void>;
}

export interface Clock {
  now(): number;
}

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: object): Logger;
}
