import { describe, expect, it } from 'vitest';
import { gitlabLaneOf } from '../../../src/entrypoints/workers/run-job.ts';

describe('the GitLab budget lane of a scan or sync job', () => {
  it("is background for the sweep's work (its reason, or a priority: webhook work has none), normal otherwise", () => {
    expect(gitlabLaneOf({ data: { reason: 'sweep: scheduled' } })).toBe('background');
    expect(gitlabLaneOf({ data: { reason: 'a hook' }, opts: { priority: 10 } })).toBe('background');
    expect(gitlabLaneOf({ data: { reason: 'pipeline hook: manual job' }, opts: {} })).toBe('normal');
    expect(gitlabLaneOf({ data: {} })).toBe('normal');
  });

  it('is normal for a sweep job a webhook hurried (its priority and reason now the webhook’s)', () => {
    expect(gitlabLaneOf({ data: { reason: 'deployment hook: blocked' }, priority: 0, opts: { priority: 10 } })).toBe(
      'normal',
    );
  });
});
