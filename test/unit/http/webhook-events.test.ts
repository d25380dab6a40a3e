import { describe, expect, it } from 'vitest';
import { parseGitLabTime, parseHook } from '../../../src/entrypoints/http/webhook-events.ts';

describe('GitLab webhook payloads', () => {
  it('parses both time formats GitLab sends', () => {
    expect(parseGitLabTime('2021-04-28 21:50:00 +0200')).toBe(Date.parse('2021-04-28T19:50:00Z'));
    expect(parseGitLabTime('2026-05-08T10:30:00.000Z')).toBe(Date.parse('2026-05-08T10:30:00Z'));
    expect(parseGitLabTime('yesterday')).toBeNull();
    expect(parseGitLabTime(null)).toBeNull();
  });

  it('normalises the documented lifecycle example (no ref needed)', () => {
    const body = {
      object_kind: 'deployment',
      status: 'success',
      status_changed_at: '2021-04-28 21:50:00 +0200',
      deployment_id: 15,
      deployable_id: 796,
      environment: 'staging',
      environment_tier: 'staging',
      project: { id: 30, path_with_namespace: 'root/test-deployment-webhooks' },
      user: { id: 1 },
    };
    expect(parseHook('Deployment Hook', body)).toEqual({
      ok: true,
      event: {
        kind: 'deployment',
        projectId: 30,
        projectPath: 'root/test-deployment-webhooks',
        deploymentId: 15,
        status: 'success',
        statusChangedAt: Date.parse('2021-04-28T19:50:00Z'),
        environment: 'staging',
      },
    });
  });

  it('collects the environments of manual jobs from a pipeline hook', () => {
    const body = {
      object_kind: 'pipeline',
      object_attributes: { id: 1, status: 'manual' },
      project: { id: 3, path_with_namespace: 'a/b' },
      builds: [
        { status: 'manual', environment: { name: 'production', action: 'start' } },
        { status: 'success', environment: { name: 'staging' } },
        { status: 'manual', environment: null },
      ],
    };
    expect(parseHook('Pipeline Hook', body)).toMatchObject({
      ok: true,
      event: { kind: 'pipeline', status: 'manual', environments: ['production'] },
    });
  });

  it('says which field is wrong', () => {
    expect(parseHook('Job Hook', { object_kind: 'build', build_status: 'failed' })).toEqual({
      ok: false,
      reason: 'Job Hook payload: project_id: Invalid input: expected number, received undefined',
    });
    expect(parseHook('Deployment Hook', { object_kind: 'pipeline' })).toMatchObject({ ok: false });
  });
});
