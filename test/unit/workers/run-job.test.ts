import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { GreenlightError } from '../../../src/core/errors.ts';
import { currentGitLabLane } from '../../../src/adapters/gitlab/request-budget.ts';
import { runJob, type JobPolicy } from '../../../src/entrypoints/workers/run-job.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';

type Fake = { attemptsMade?: number; attempts?: number; ageMs?: number };

/** The parts of a BullMQ job runJob reads, and a record of what it asked BullMQ to do. */
function fakeJob(f: Fake = {}) {
  const delayedTo: number[] = [];
  const job = {
    queueName: 'decisions',
    id: '1',
    data: { what: 'approve' },
    attemptsMade: f.attemptsMade ?? 0,
    opts: { attempts: f.attempts ?? 5 },
    timestamp: Date.now() - (f.ageMs ?? 0),
    async moveToDelayed(at: number) {
      delayedTo.push(at);
    },
  };
  return { job: job as unknown as Job<{ what: string }>, delayedTo };
}

async function run(error: unknown, f: Fake = {}, policy: JobPolicy<{ what: string }> = {}) {
  const { job, delayedTo } = fakeJob(f);
  const logger = new CapturingLogger();
  const handler = runJob(logger, policy, async () => {
    throw error;
  });
  const thrown = await handler(job, 'token').catch((e: unknown) => e);
  return { thrown, delayedTo, logger };
}

describe('runJob: the one place that decides retry or give up', () => {
  it('hands GitLab 5xx, timeouts and Slack 5xx back to BullMQ for exponential backoff', async () => {
    for (const error of [
      new GreenlightError('gitlab_unavailable', 'GitLab answered 502', { detail: '502' }),
      new GreenlightError('gitlab_unavailable', 'GitLab did not answer in time', { detail: 'timeout' }),
      new GreenlightError('slack_unavailable', 'Slack answered HTTP 500', { detail: '500' }),
    ]) {
      const { thrown, logger } = await run(error);
      expect(thrown).toBe(error);
      expect(logger.lines.at(-1)?.msg).toBe('job failed; will retry');
    }
  });

  it('waits exactly Retry-After for a 429 without spending an attempt', async () => {
    const before = Date.now();
    const { thrown, delayedTo } = await run(
      new GreenlightError('slack_rate_limited', 'Slack rate-limited', { retryAfterMs: 3_000 }),
    );
    const after = Date.now();
    expect(thrown).toBeInstanceOf(DelayedError);
    expect(delayedTo).toHaveLength(1);
    // 3 s from the moment it failed (somewhere between before and after), plus under 250 ms of jitter
    expect(delayedTo[0]!).toBeGreaterThanOrEqual(before + 3_000);
    expect(delayedTo[0]!).toBeLessThan(after + 3_250);
  });

  it('delays the job for a GitLab 429 (every other caller waits in the shared budget), no attempt spent', async () => {
    const { thrown, delayedTo } = await run(
      new GreenlightError('gitlab_rate_limited', 'GitLab rate-limited', { retryAfterMs: 2_000 }),
    );
    expect(thrown).toBeInstanceOf(DelayedError);
    expect(delayedTo).toHaveLength(1);
    expect(delayedTo[0]! - Date.now()).toBeGreaterThanOrEqual(1_900);
  });

  it("runs the job in its policy's GitLab budget lane (normal when unset)", async () => {
    const seen: string[] = [];
    for (const policy of [{}, { lane: () => 'interactive' as const }, { lane: () => 'background' as const }]) {
      const handler = runJob(new CapturingLogger(), policy, async () => {
        await Promise.resolve();
        seen.push(currentGitLabLane());
      });
      await handler(fakeJob().job, 'token');
    }
    expect(seen).toEqual(['normal', 'interactive', 'background']);
  });

  it('gives up at once on what another try cannot change, and reports it once', async () => {
    const reported: unknown[] = [];
    const error = new GreenlightError('gitlab_forbidden', '403 Forbidden');
    const { thrown } = await run(error, {}, { onGiveUp: async (_job, e) => void reported.push(e) });
    expect(thrown).toBeInstanceOf(UnrecoverableError);
    expect(reported).toEqual([error]);
  });

  it('gives up after the last attempt and tells the person', async () => {
    const reported: unknown[] = [];
    const { thrown } = await run(
      new GreenlightError('gitlab_unavailable', 'GitLab answered 503'),
      { attemptsMade: 4, attempts: 5 },
      { onGiveUp: async (_job, e) => void reported.push(e) },
    );
    expect(thrown).toBeInstanceOf(UnrecoverableError);
    expect(reported).toHaveLength(1);
  });

  it(
    'never retries a decision past its window: not after ' + 'a minute, and not when Retry-After would end past it',
    async () => {
      const policy = (reported: unknown[]): JobPolicy<{ what: string }> => ({
        maxAgeMs: 60_000,
        onGiveUp: async (_job, e) => void reported.push(e),
      });
      const late: unknown[] = [];
      expect(
        (await run(new GreenlightError('gitlab_unavailable', '502'), { ageMs: 61_000 }, policy(late))).thrown,
      ).toBeInstanceOf(UnrecoverableError);
      expect(late).toHaveLength(1);
      const waitTooLong: unknown[] = [];
      const { thrown, delayedTo } = await run(
        new GreenlightError('gitlab_rate_limited', '429', { retryAfterMs: 120_000 }),
        { ageMs: 1_000 },
        policy(waitTooLong),
      );
      expect(thrown).toBeInstanceOf(UnrecoverableError);
      expect(delayedTo).toHaveLength(0);
      expect(waitTooLong).toHaveLength(1);
      const young: unknown[] = [];
      expect(
        (await run(new GreenlightError('gitlab_unavailable', '502'), { ageMs: 5_000 }, policy(young))).thrown,
      ).toBeInstanceOf(GreenlightError);
      expect(young).toHaveLength(0);
    },
  );

  it('retries unknown errors (a bug or a dropped connection) like transient ones', async () => {
    const error = new Error('Connection is closed.');
    expect((await run(error)).thrown).toBe(error);
  });
});
