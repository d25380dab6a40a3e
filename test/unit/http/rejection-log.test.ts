import { describe, expect, it } from 'vitest';
import { createRejectionLog } from '../../../src/entrypoints/http/rejection-log.ts';
import { gitlabOperation, slackOperation } from '../../../src/adapters/metrics/api-observer.ts';
import { bounded } from '../../../src/adapters/metrics/metrics.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';

describe('rejected requests are logged sampled', () => {
  it('logs up to the budget per kind and minute, then one line with how many more there were', () => {
    let t = 0;
    const logger = new CapturingLogger();
    const log = createRejectionLog(logger, { perMinute: 3, now: () => t });
    for (let i = 0; i < 1_000; i += 1)
      log.note('webhook_token', { event: 'x'.repeat(500), ip: `10.0.0.${i % 250}` }, 'r');
    log.note('rate_limited', { ip: '10.0.0.1' }, 'limited');
    expect(logger.lines.filter((l) => l.msg === 'r')).toHaveLength(3);
    expect(logger.lines.filter((l) => l.msg === 'limited')).toHaveLength(1);
    // caller-supplied values are cut
    expect(String(logger.lines[0]!.event).length).toBeLessThanOrEqual(101);
    t = 60_000;
    log.note('webhook_token', {}, 'r');
    expect(logger.lines.find((l) => l.msg === 'more rejected requests were not logged')).toMatchObject({
      rejection: 'webhook_token',
      notLogged: 997,
    });
    expect(logger.lines.filter((l) => l.msg === 'r')).toHaveLength(4);
  });
});

describe('metric labels never take a value a caller controls', () => {
  it('names Slack calls by method, and respond() calls response_url', () => {
    const api = 'https://slack.com/api/';
    expect(slackOperation('https://slack.com/api/chat.postMessage', api)).toBe('chat.postMessage');
    expect(slackOperation('https://hooks.slack.com/commands/T1/123/aBcDeFsecret', api)).toBe('response_url');
    expect(slackOperation('https://slack.com/api/../../evil', api)).toBe('other');
  });

  it('keeps only GitLab route words; names, paths and ids become :id', () => {
    expect(gitlabOperation('GET', 'groups/acme-secret-team/projects')).toBe('GET groups/:id/projects');
    expect(gitlabOperation('GET', 'projects/4/members/all/9')).toBe('GET projects/:id/members/all/:id');
    expect(gitlabOperation('BREW', 'users/alice')).toBe('OTHER users/:id');
  });

  it('bounds hook names, statuses and Slack error codes', () => {
    expect(bounded.hook('Deployment Hook')).toBe('Deployment Hook');
    expect(bounded.hook('Evil 1234 Hook')).toBe('other');
    expect(bounded.hook(undefined)).toBe('other');
    expect(bounded.status('503')).toBe('503');
    expect(bounded.status('5033')).toBe('other');
    expect(bounded.slackError('not_in_channel')).toBe('not_in_channel');
    expect(bounded.slackError('<script>')).toBe('other');
  });
});
