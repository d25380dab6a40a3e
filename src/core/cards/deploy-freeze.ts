import { Cron } from 'croner';

/** A GitLab deploy freeze period: cron start and end, read in a time zone (GitLab's default: UTC). */
export type FreezePeriod = { start: string; end: string; timezone: string };

/** A freeze in effect now: since when, until when, and the period that says so. */
export type FreezeNow = { startedAt: string; endsAt: string; period: FreezePeriod };

/**
 * Whether a deploy freeze is in effect at `now`, the way GitLab decides it (Ci::FreezePeriod#active?): the
 * period started at the last run of its start cron before now, ends at the next run of its end cron after that
 * start, and is in effect in between. With several in effect, the one that ends last. Periods whose cron or
 * time zone cannot be read are left out (`invalid` lists them), never guessed at.
 */
export function freezeInEffect(
  periods: readonly FreezePeriod[],
  now: number,
): { freeze: FreezeNow | null; invalid: FreezePeriod[] } {
  const invalid: FreezePeriod[] = [];
  let freeze: FreezeNow | null = null;
  const at = new Date(now);
  for (const period of periods) {
    let start: Date | undefined;
    let end: Date | null | undefined;
    try {
      const options = { timezone: period.timezone || 'UTC', mode: '5-or-6-parts' as const };
      start = new Cron(period.start, options).previousRuns(1, at)[0];
      end = start ? new Cron(period.end, options).nextRun(start) : null;
    } catch {
      invalid.push(period);
      continue;
    }
    if (!start || !end || start.getTime() > now || end.getTime() < now) continue;
    if (!freeze || end.getTime() > Date.parse(freeze.endsAt))
      freeze = { startedAt: start.toISOString(), endsAt: end.toISOString(), period };
  }
  return { freeze, invalid };
}
