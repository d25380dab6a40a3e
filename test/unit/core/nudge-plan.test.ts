import { describe, expect, it } from 'vitest';
import type { NudgePolicy } from '../../../src/core/reminders/nudge-plan.ts';
import {
  afterNudge,
  afterSnooze,
  initialNudgeState,
  planNext,
  replanned,
  SNOOZE_MS,
} from '../../../src/core/reminders/nudge-plan.ts';
import { waitingDeployment } from '../../fixtures/deployments.ts';

const M = 60_000;
const H = 60 * M;
const created = Date.parse('2026-11-23T09:52:25.000Z'); // a Monday
const policy: NudgePolicy = {
  reminders: { afterMs: 30 * M, everyMs: H, max: 2 },
  escalation: [
    { afterMs: 2 * H, channel: 'C0ONCALL', mention: ['<!subteam^S0ONCALL>'] },
    { afterMs: 4 * H, channel: 'C0CTO', mention: ['<@U0CTO>'] },
  ],
  workingHours: null,
};

describe('planNext', () => {
  it('plans the first reminder `after` the deployment started waiting', () => {
    const state = initialNudgeState(waitingDeployment(), policy, created + M);
    expect(state).toMatchObject({
      anchor: created,
      seq: 0,
      remindersSent: 0,
      escalationsSent: 0,
      due: { at: created + 30 * M, kind: 'reminder' },
    });
    expect(planNext(policy, state)).toEqual({ kind: 'reminder', at: created + 30 * M, number: 1 });
  });

  it(
    'then `every` after the previous reminder, at most ' + '`max`, with escalation levels in order at their own times',
    () => {
      let state = initialNudgeState(waitingDeployment(), policy, created);
      const sentAt = created + 31 * M; // the first went out a minute late
      state = afterNudge(state, policy, planNext(policy, state)!, sentAt);
      expect(state).toMatchObject({
        seq: 1,
        remindersSent: 1,
        lastReminderAt: sentAt,
        due: { at: sentAt + H, kind: 'reminder' },
      });
      state = afterNudge(state, policy, planNext(policy, state)!, sentAt + H);
      expect(planNext(policy, state)).toEqual({ kind: 'escalation', at: created + 2 * H, level: 0 });
      state = afterNudge(state, policy, planNext(policy, state)!, created + 2 * H);
      expect(planNext(policy, state)).toEqual({ kind: 'escalation', at: created + 4 * H, level: 1 });
      state = afterNudge(state, policy, planNext(policy, state)!, created + 4 * H);
      expect(planNext(policy, state)).toBeNull();
      expect(state).toMatchObject({ seq: 4, remindersSent: 2, escalationsSent: 2, due: null });
    },
  );

  it('sends the reminder first when both are due at once, and everything overdue right away', () => {
    const tie: NudgePolicy = { ...policy, escalation: [{ afterMs: 30 * M, channel: 'C0ONCALL', mention: [] }] };
    const state = initialNudgeState(waitingDeployment(), tie, created);
    expect(planNext(tie, state)?.kind).toBe('reminder');
    const next = afterNudge(state, tie, planNext(tie, state)!, created + 5 * H);
    // discovered late: the escalation is already due (in the past), the next reminder an hour after the last
    expect(planNext(tie, next)).toEqual({ kind: 'escalation', at: created + 30 * M, level: 0 });
  });

  it('plans nothing without reminders and escalation', () => {
    const none: NudgePolicy = { reminders: null, escalation: [], workingHours: null };
    expect(initialNudgeState(waitingDeployment(), none, created).due).toBeNull();
  });

  it('a snooze holds every nudge until an hour after the click; a shorter snooze never shortens a longer one', () => {
    const state = initialNudgeState(waitingDeployment(), policy, created);
    const click = created + 20 * M;
    const snoozed = afterSnooze(state, policy, 'U0456ALICE', click);
    expect(snoozed).toMatchObject({
      seq: 1,
      snoozedUntil: click + SNOOZE_MS,
      snoozedBy: 'U0456ALICE',
      due: { at: click + SNOOZE_MS, kind: 'reminder' },
    });
    const again = afterSnooze(snoozed, policy, 'U0321CAROL', click - 10 * M);
    expect(again.snoozedUntil).toBe(click + SNOOZE_MS);
    expect(again.snoozedBy).toBe('U0321CAROL');
    // the escalation due at +2h is not affected by a snooze that ended before it
    const later = afterNudge(
      afterNudge(snoozed, policy, planNext(policy, snoozed)!, click + H),
      policy,
      { kind: 'reminder', at: 0, number: 2 },
      click + 2 * H,
    );
    expect(planNext(policy, later)).toEqual({ kind: 'escalation', at: created + 2 * H, level: 0 });
  });

  it('pauses outside working hours: waiting since Friday 17:45 Berlin, the first reminder is Monday 09:15', () => {
    const hours: NudgePolicy = {
      ...policy,
      workingHours: {
        days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'],
        fromMinute: 9 * 60,
        toMinute: 18 * 60,
        timezone: 'Europe/Berlin',
      },
    };
    const friday = waitingDeployment({ createdAt: '2026-11-20T16:45:00.000Z' });
    const state = initialNudgeState(friday, hours, Date.parse('2026-11-20T16:46:00Z'));
    expect(new Date(state.due!.at).toISOString()).toBe('2026-11-23T08:15:00.000Z');
    // the escalation (2h of working time): 15 min on Friday, 1h45 on Monday
    const afterReminders = { ...state, remindersSent: 2 };
    expect(new Date(planNext(hours, afterReminders)!.at).toISOString()).toBe('2026-11-23T09:45:00.000Z');
    // a snooze ending on Saturday waits for Monday morning too
    const snoozed = afterSnooze(state, hours, 'U1', Date.parse('2026-11-21T10:00:00Z'));
    expect(new Date(snoozed.due!.at).toISOString()).toBe('2026-11-23T08:15:00.000Z');
    const lateSnooze = afterSnooze(state, hours, 'U1', Date.parse('2026-11-23T08:00:00Z'));
    expect(new Date(lateSnooze.due!.at).toISOString()).toBe('2026-11-23T09:00:00.000Z');
  });

  it('replanning keeps what was sent and moves to a new seq', () => {
    const state = initialNudgeState(waitingDeployment(), policy, created);
    const changed: NudgePolicy = { ...policy, reminders: { afterMs: 10 * M, everyMs: H, max: 5 } };
    expect(replanned({ ...state, posting: { seq: 0, at: 1 } }, changed)).toMatchObject({
      seq: 1,
      posting: null,
      due: { at: created + 10 * M, kind: 'reminder' },
    });
  });
});
