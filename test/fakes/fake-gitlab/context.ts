import type { Clock } from './clock.ts';
import type { State } from './model.ts';

/** Deployment Hook statuses; blocked/approved/rejected are only delivered in `modern` webhook mode. */
export type DeploymentHookStatus = 'running' | 'success' | 'failed' | 'canceled' | 'blocked' | 'approved' | 'rejected';

/** Something happened that GitLab would announce through webhooks. Payloads are built when emitted. */
export type DomainEvent =
  | { kind: 'deployment'; deploymentId: number; status: DeploymentHookStatus; at: number; approvalId?: number }
  | { kind: 'job'; jobId: number; at: number }
  | { kind: 'pipeline'; pipelineId: number; at: number };

/** What the domain code and the route handlers share. */
export interface Ctx {
  readonly state: State;
  readonly clock: Clock;
  readonly version: string;
  readonly licensePlan: 'premium' | 'ultimate' | 'free' | null;
  baseUrl(): string;
  emit(event: DomainEvent): void;
}

/** A GitLab-shaped failure from a fake action (approveInUi, playJob, ...): same status and body the API gives. */
export class FakeGitLabError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(`fake GitLab refused: ${status} ${JSON.stringify(body)}`);
    this.name = 'FakeGitLabError';
    this.status = status;
    this.body = body;
  }
}

/** Result of a domain operation that the API turns into a response and the UI helpers into a throw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: number; body: unknown };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = (status: number, body: unknown): { ok: false; status: number; body: unknown } => ({
  ok: false,
  status,
  body,
});
export const failMessage = (status: number, message: unknown): { ok: false; status: number; body: unknown } =>
  fail(status, { message });

export function unwrap<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new FakeGitLabError(outcome.status, outcome.body);
  return outcome.value;
}
