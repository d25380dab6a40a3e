import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Weekday, WorkingHours } from '../../../src/core/policy.ts';
import {
  addWorkingTime,
  isWorkingTime,
  localToInstant,
  workingTimeBetween,
} from '../../../src/core/reminders/working-hours.ts';

const H = 3_600_000;
const M = 60_000;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const WEEK: Weekday[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const office = (
  timezone: string,
  from = '09:00',
  to = '18:00',
  days: Weekday[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'],
): WorkingHours => {
  const minute = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
  return { days, fromMinute: minute(from), toMinute: minute(to), timezone };
};

describe('addWorkingTime', () => {
  it('is plain addition without working hours', () => {
    expect(addWorkingTime(at('2026-11-20T17:00:00Z'), 2 * H, null)).toBe(at('2026-11-20T19:00:00Z'));
  });

  it('runs inside one working day', () => {
    // Berlin in November is UTC+1: 10:00 local = 09:00Z
    expect(iso(addWorkingTime(at('2026-11-23T09:00:00Z'), 30 * M, office('Europe/Berlin')))).toBe(
      '2026-11-23T09:30:00.000Z',
    );
  });

  it('pauses over the evening and the weekend: Friday 17:00 + 2h is Monday 10:00', () => {
    expect(iso(addWorkingTime(at('2026-11-20T16:00:00Z'), 2 * H, office('Europe/Berlin')))).toBe(
      '2026-11-23T09:00:00.000Z',
    );
  });

  it('starts counting at the next working period when started outside one', () => {
    // Saturday night: nothing counts until Monday 09:00 Berlin (08:00Z)
    expect(iso(addWorkingTime(at('2026-11-21T22:00:00Z'), 90 * M, office('Europe/Berlin')))).toBe(
      '2026-11-23T09:30:00.000Z',
    );
    // duration 0: the next working moment
    expect(iso(addWorkingTime(at('2026-11-21T22:00:00Z'), 0, office('Europe/Berlin')))).toBe(
      '2026-11-23T08:00:00.000Z',
    );
    // exactly at the end of a period: the next one
    expect(iso(addWorkingTime(at('2026-11-23T17:00:00Z'), M, office('Europe/Berlin')))).toBe(
      '2026-11-24T08:01:00.000Z',
    );
  });

  it('spans several working days', () => {
    // 20 working hours from Monday 09:00 Berlin: Mon 9h + Tue 9h + Wed 2h = Wednesday 11:00 (10:00Z)
    expect(iso(addWorkingTime(at('2026-11-23T08:00:00Z'), 20 * H, office('Europe/Berlin')))).toBe(
      '2026-11-25T10:00:00.000Z',
    );
  });

  it('follows the office across the spring DST change (New York)', () => {
    // Friday 2026-03-06 17:00 EST (22:00Z) + 2h: 1h on Friday, 1h on Monday 2026-03-09 from 09:00 EDT (13:00Z)
    expect(iso(addWorkingTime(at('2026-03-06T22:00:00Z'), 2 * H, office('America/New_York')))).toBe(
      '2026-03-09T14:00:00.000Z',
    );
  });

  it('follows the office across the autumn DST change in the southern hemisphere (Sydney)', () => {
    // Friday 2026-04-03 16:00 AEDT (05:00Z) + 2h, 09-17: 1h Friday; Monday 2026-04-06 09:00 AEST is 23:00Z Sunday
    expect(iso(addWorkingTime(at('2026-04-03T05:00:00Z'), 2 * H, office('Australia/Sydney', '09:00', '17:00')))).toBe(
      '2026-04-06T00:00:00.000Z',
    );
  });

  it('handles half- and quarter-hour offsets', () => {
    // Kolkata is UTC+05:30: 10:00 local = 04:30Z; Kathmandu UTC+05:45: 10:00 local = 04:15Z
    expect(iso(addWorkingTime(at('2026-11-23T00:00:00Z'), 0, office('Asia/Kolkata', '10:00', '19:00')))).toBe(
      '2026-11-23T04:30:00.000Z',
    );
    expect(iso(addWorkingTime(at('2026-11-23T00:00:00Z'), 15 * M, office('Asia/Kathmandu', '10:00', '19:00')))).toBe(
      '2026-11-23T04:30:00.000Z',
    );
  });

  it('counts real time on the night the clocks jump forward (the lost hour is not worked)', () => {
    // Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST. 01:00-04:00 local is 00:00Z-02:00Z: 2 real hours.
    const night = office('Europe/Berlin', '01:00', '04:00', WEEK);
    expect(workingTimeBetween(at('2026-03-28T00:00:00Z'), at('2026-03-28T12:00:00Z'), night)).toBe(3 * H);
    expect(workingTimeBetween(at('2026-03-29T00:00:00Z'), at('2026-03-29T12:00:00Z'), night)).toBe(2 * H);
    // 2.5h from 01:00 CET: 2h that night, 0.5h from 01:00 CEST the next night (23:00Z)
    expect(iso(addWorkingTime(at('2026-03-29T00:00:00Z'), 150 * M, night))).toBe('2026-03-29T23:30:00.000Z');
  });

  it('counts real time on the night the clocks go back (the repeated hour is worked twice)', () => {
    // Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET. 01:00 CEST (23:00Z) to 04:00 CET (03:00Z): 4 hours.
    const night = office('Europe/Berlin', '01:00', '04:00', WEEK);
    expect(workingTimeBetween(at('2026-10-24T20:00:00Z'), at('2026-10-25T12:00:00Z'), night)).toBe(4 * H);
    expect(iso(addWorkingTime(at('2026-10-24T23:00:00Z'), 4 * H, night))).toBe('2026-10-25T03:00:00.000Z');
  });

  it('starts a period that begins inside the skipped hour right after the jump', () => {
    // New York 2026-03-08: 02:00 EST jumps to 03:00 EDT; "02:30" is read as 03:30 EDT (07:30Z), like Temporal's
    // "compatible"
    const early = office('America/New_York', '02:30', '05:00', ['Sun']);
    expect(iso(addWorkingTime(at('2026-03-08T00:00:00Z'), 0, early))).toBe('2026-03-08T07:30:00.000Z');
    expect(workingTimeBetween(at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z'), early)).toBe(90 * M);
  });

  it('handles a 30-minute DST shift (Lord Howe Island)', () => {
    // 2026-04-05 02:00 (+11) goes back to 01:30 (+10:30): 01:00-03:00 local is 14:00Z-16:30Z
    const night = office('Australia/Lord_Howe', '01:00', '03:00', ['Sun']);
    expect(workingTimeBetween(at('2026-04-04T00:00:00Z'), at('2026-04-05T00:00:00Z'), night)).toBe(150 * M);
  });

  it('treats "to: 24:00" as the next midnight', () => {
    const evening = office('UTC', '20:00', '24:00', WEEK);
    expect(iso(addWorkingTime(at('2026-11-23T23:00:00Z'), 2 * H, evening))).toBe('2026-11-24T21:00:00.000Z');
  });

  it('ignores hours that can never match instead of spinning', () => {
    expect(addWorkingTime(1_000, 5, { days: [], fromMinute: 0, toMinute: 60, timezone: 'UTC' })).toBe(1_005);
  });
});

describe('localToInstant and isWorkingTime', () => {
  it('resolves local wall-clock times in the zone', () => {
    expect(iso(localToInstant({ year: 2026, month: 7, day: 1 }, 9 * 60, 'Europe/Berlin'))).toBe(
      '2026-07-01T07:00:00.000Z',
    );
    expect(iso(localToInstant({ year: 2026, month: 1, day: 1 }, 9 * 60, 'Europe/Berlin'))).toBe(
      '2026-01-01T08:00:00.000Z',
    );
    // the repeated 02:30 on 2026-10-25 in Berlin: the earlier one (CEST)
    expect(iso(localToInstant({ year: 2026, month: 10, day: 25 }, 150, 'Europe/Berlin'))).toBe(
      '2026-10-25T00:30:00.000Z',
    );
  });

  it('tells working from non-working moments', () => {
    const hours = office('America/New_York');
    expect(isWorkingTime(at('2026-11-23T15:00:00Z'), hours)).toBe(true); // Monday 10:00 EST
    expect(isWorkingTime(at('2026-11-23T23:30:00Z'), hours)).toBe(false); // Monday 18:30 EST
    expect(isWorkingTime(at('2026-11-22T15:00:00Z'), hours)).toBe(false); // Sunday
    expect(isWorkingTime(at('2026-11-22T15:00:00Z'), null)).toBe(true);
  });
});

describe('working time properties', () => {
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'Australia/Sydney',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'Pacific/Auckland',
    'UTC',
  ];
  const hoursArb = fc
    .record({
      zone: fc.constantFrom(...zones),
      from: fc.integer({ min: 0, max: 23 * 60 }),
      length: fc.integer({ min: 30, max: 12 * 60 }),
      days: fc.subarray(WEEK, { minLength: 1 }),
    })
    .map(({ zone, from, length, days }): WorkingHours => ({
      days,
      fromMinute: from,
      toMinute: Math.min(24 * 60, from + length),
      timezone: zone,
    }));
  // 2026, across both DST changes of every zone above
  const instant = fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2026-12-31T00:00:00Z') });

  it('adding working time and measuring it back agree, and the result is never earlier', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 30 * H }), hoursArb, (start, duration, hours) => {
        const end = addWorkingTime(start, duration, hours);
        expect(end).toBeGreaterThanOrEqual(start + duration);
        expect(workingTimeBetween(start, end, hours)).toBe(duration);
      }),
      { numRuns: 300 },
    );
  });

  it('a positive duration always ends inside working hours', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 1, max: 30 * H }), hoursArb, (start, duration, hours) => {
        // the instant just before the end was working time
        expect(isWorkingTime(addWorkingTime(start, duration, hours) - 1, hours)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
