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

describe('GitLab webhook payloads that are partly unusable', () => {
  it('reads the Ruby time with UTC that some versions send', () => {
    expect(parseGitLabTime('2026-05-08 10:30:00 UTC')).toBe(Date.parse('2026-05-08T10:30:00Z'));
    expect(parseGitLabTime('2026-05-08 10:30:00.123 +0000')).toBe(Date.parse('2026-05-08T10:30:00Z'));
    expect(parseGitLabTime(1715164200)).toBeNull();
  });

  it('skips a pipeline job that is not an object, and one whose environment has no name, and uses the rest', () => {
    const body = {
      object_kind: 'pipeline',
      object_attributes: { status: 'manual' },
      project: { id: 3 },
      builds: [
        'garbage',
        { status: 'manual', environment: { name: '' } },
        { status: 'manual', environment: { name: 'production' } },
      ],
    };
    expect(parseHook('Pipeline Hook', body)).toEqual({
      ok: true,
      event: { kind: 'pipeline', projectId: 3, projectPath: '', status: 'manual', environments: ['production'] },
      skipped: ['builds.0: Invalid input: expected object, received string', 'builds.1.environment.name: is empty'],
    });
  });

  it('names at most five skipped parts and counts the rest', () => {
    const builds = Array.from({ length: 12 }, () => ({ status: 'manual', environment: { name: '' } }));
    const parsed = parseHook('Pipeline Hook', {
      object_kind: 'pipeline',
      object_attributes: {},
      project: { id: 3 },
      builds,
    });
    expect(parsed).toMatchObject({ ok: true, event: { environments: [] } });
    expect(parsed.ok && parsed.skipped).toEqual([
      ...Array(5)
        .fill('builds.0.environment.name: is empty')
        .map((_, i) => `builds.${i}.environment.name: is empty`),
      'and 7 more',
    ]);
  });

  it('keeps a Deployment Hook without deployment_id with what identifies the deployment', () => {
    const body = {
      object_kind: 'deployment',
      status: 'running',
      deployable_id: 796,
      environment: 'staging',
      short_sha: '279484c0',
      project: { id: 30, path_with_namespace: 'root/test' },
    };
    expect(parseHook('Deployment Hook', body)).toEqual({
      ok: true,
      event: {
        kind: 'deployment',
        projectId: 30,
        projectPath: 'root/test',
        deploymentId: null,
        status: 'running',
        statusChangedAt: null,
        environment: 'staging',
        lookup: { deployableId: 796, shortSha: '279484c0' },
      },
    });
  });
});
