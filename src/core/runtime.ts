import type { DeploymentRef } from './deployments/deployment.ts';

/** Ports every part of the core may need; they name no domain type beyond a deployment's reference. */

export interface WorkQueue {
  /** Re-read one deployment and bring its card up to date (deduplicated per deployment). */
  requestSync(ref: DeploymentRef, reason: string): Promise<void>;
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
