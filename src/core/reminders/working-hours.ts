/**
 * Working-time arithmetic: the reminder and escalation clocks only run inside working hours.
 * Pure and dependency-free: local times come from Intl.DateTimeFormat, so time zones and
 * daylight-saving changes follow the IANA database the runtime ships with. Durations are real elapsed
 * milliseconds inside working periods (a working day that loses an hour to DST is an hour shorter).
 */
import type { Weekday, WorkingHours } from '../policy.ts';

const DAY_MS = 86_400_000;
const WEEKDAYS: readonly Weekday[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** Ten years of days without a working period means the hours can never match: stop, don't spin. */
const MAX_DAYS = 3_660;

type LocalDate = { year: number; month: number; day: number };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in `timeZone` at instant `ms`, written as if it were UTC (so it can be subtracted). */
function wallClock(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** The zone's offset from UTC at instant `ms` (whole seconds; sub-second parts of `ms` are ignored). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallClock(whole, timeZone) - whole;
}

/**
 * The instant at which the wall clock in `timeZone` shows `minute` minutes after midnight of `date`
 * (minute may be 1440: the next midnight). Like Temporal's "compatible" disambiguation: a time that
 * occurs twice (clocks go back) means the earlier one; a time skipped by a DST jump means the same
 * distance after the jump (02:30 on a night that jumps from 02:00 to 03:00 is 03:30).
 */
export function localToInstant(date: LocalDate, minute: number, timeZone: string): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, 0, minute);
  const before = zoneOffsetMs(wall - DAY_MS, timeZone);
  const after = zoneOffsetMs(wall + DAY_MS, timeZone);
  const candidates = [wall - before, wall - after].filter((t) => t + zoneOffsetMs(t, timeZone) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before;
}

function localDateOf(ms: number, timeZone: string): LocalDate {
  const wall = new Date(wallClock(ms, timeZone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function weekdayOf(date: LocalDate): Weekday {
  return WEEKDAYS[new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay()]!;
}

/** Working periods [start, end) that end after `from`, in order. */
function* periodsFrom(from: number, hours: WorkingHours): Generator<{ start: number; end: number }> {
  const days = new Set(hours.days);
  const first = localDateOf(from, hours.timezone);
  // From the day before: cheap insurance for zones whose DST change falls on midnight.
  for (let i = -1; i < MAX_DAYS; i += 1) {
    const date = addDays(first, i);
    if (!days.has(weekdayOf(date))) continue;
    const start = localToInstant(date, hours.fromMinute, hours.timezone);
    const end = localToInstant(date, hours.toMinute, hours.timezone);
    if (end > from && end > start) yield { start, end };
  }
}

function usable(hours: WorkingHours | null): hours is WorkingHours {
  return hours !== null && hours.days.length > 0 && hours.fromMinute < hours.toMinute;
}

/**
 * The instant when `durationMs` of working time has passed after `start`. With no working hours every
 * moment counts. A duration of 0 gives the first working moment at or after `start`.
 */
export function addWorkingTime(start: number, durationMs: number, hours: WorkingHours | null): number {
  if (!usable(hours)) return start + durationMs;
  let remaining = Math.max(0, durationMs);
  let cursor = start;
  for (const period of periodsFrom(start, hours)) {
    const from = Math.max(cursor, period.start);
    if (from + remaining <= period.end) return from + remaining;
    remaining -= period.end - from;
    cursor = period.end;
  }
  // Unreachable with at least one working day; fall back to plain time rather than never.
  return start + durationMs;
}

/** Working time between two instants (0 when `end` is not after `start`). */
export function workingTimeBetween(start: number, end: number, hours: WorkingHours | null): number {
  if (end <= start) return 0;
  if (!usable(hours)) return end - start;
  let total = 0;
  for (const period of periodsFrom(start, hours)) {
    if (period.start >= end) break;
    total += Math.min(end, period.end) - Math.max(start, period.start);
  }
  return total;
}

/** Whether `at` falls inside working hours (always true without working hours). */
export function isWorkingTime(at: number, hours: WorkingHours | null): boolean {
  return addWorkingTime(at, 0, hours) === at;
}
