import { randomTriggerId } from './clock.ts';
import type { Clock } from './clock.ts';

/** trigger_id lifetime: Slack accepts one views.open/push within ~3 s of the interaction. */
export const TRIGGER_TTL_MS = 3000;

interface Trigger {
  userId: string;
  issuedAt: number;
  used: boolean;
}

export type TriggerCheck =
  | { ok: true; userId: string }
  | { ok: false; error: 'invalid_trigger_id' | 'exchanged_trigger_id' | 'expired_trigger_id' };

/** trigger_ids the fake handed out with commands and interactions: single use, 3 s lifetime. */
export class TriggerRegistry {
  private readonly triggers = new Map<string, Trigger>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  issue(userId: string): string {
    const id = randomTriggerId();
    this.triggers.set(id, { userId, issuedAt: this.clock.now(), used: false });
    return id;
  }

  /** Checks and consumes a trigger_id. */
  exchange(triggerId: string): TriggerCheck {
    const trigger = this.triggers.get(triggerId);
    if (!trigger) return { ok: false, error: 'invalid_trigger_id' };
    if (trigger.used) return { ok: false, error: 'exchanged_trigger_id' };
    if (this.clock.now() - trigger.issuedAt > TRIGGER_TTL_MS) return { ok: false, error: 'expired_trigger_id' };
    trigger.used = true;
    return { ok: true, userId: trigger.userId };
  }
}
