/**
 * A clock that the test moves, with a sleep on it: what the GitLab request budget reads
 * (GreenlightOptions.gitlabBudget) so that budgets and pauses are tested by counting requests, not by waiting.
 * It stands still unless `flowing`: then it is real time plus whatever the test added (sleeps end on time, or
 * when the test moves the clock past them).
 */
export type ManualClock = {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Moves the clock and wakes every sleeper whose time has come; returns how many woke. */
  advance(ms: number): number;
  /** sleepers not yet woken */
  sleeping(): number;
  /** total ms advanced by the test since the start */
  advanced(): number;
};

export function manualClock(opts: { flowing?: boolean } = {}): ManualClock {
  const start = Date.now();
  let offset = 0;
  let sleepers: Array<{ at: number; wake: () => void }> = [];
  const now = () => (opts.flowing ? Date.now() : start) + offset;
  return {
    now,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = opts.flowing ? setTimeout(() => wake(), ms) : null;
        const sleeper = { at: now() + ms, wake: () => undefined as void };
        const wake = () => {
          if (timer) clearTimeout(timer);
          sleepers = sleepers.filter((s) => s !== sleeper);
          resolve();
        };
        sleeper.wake = wake;
        sleepers.push(sleeper);
      }),
    advance(ms) {
      offset += ms;
      const due = sleepers.filter((s) => s.at <= now());
      for (const s of due) s.wake();
      return due.length;
    },
    sleeping: () => sleepers.length,
    advanced: () => offset,
  };
}
