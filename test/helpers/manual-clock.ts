/**
 * A clock that stands still until the test moves it, with a sleep on it: what the GitLab request budget reads
 * (GreenlightOptions.gitlabBudget) so that budgets and pauses are tested by counting requests, not by waiting.
 */
export type ManualClock = {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Moves the clock and wakes every sleeper whose time has come; returns how many woke. */
  advance(ms: number): number;
  /** sleepers not yet woken */
  sleeping(): number;
  /** total ms advanced since the start */
  advanced(): number;
};

export function manualClock(start = Date.now()): ManualClock {
  let now = start;
  let sleepers: Array<{ at: number; wake: () => void }> = [];
  return {
    now: () => now,
    sleep: (ms) => new Promise<void>((wake) => void sleepers.push({ at: now + ms, wake })),
    advance(ms) {
      now += ms;
      const due = sleepers.filter((s) => s.at <= now);
      sleepers = sleepers.filter((s) => s.at > now);
      for (const s of due) s.wake();
      return due.length;
    },
    sleeping: () => sleepers.length,
    advanced: () => now - start,
  };
}
