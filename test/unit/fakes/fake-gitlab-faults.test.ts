// Failure injection and throttling (§7): failNext (status, body, times, delay, processFirst) and setRateLimit.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS, startFakeGitLab, type FakeGitLab, type FakeProject, type FakeUser } from '../../fakes/fake-gitlab.ts';
import { call } from '../../fakes/fake-gitlab/client.ts';
import { waitFor } from '../../helpers/wait.ts';

let fake: FakeGitLab;
let project: FakeProject;
let maint: FakeUser;
let creator: FakeUser;

beforeEach(async () => {
  fake = await startFakeGitLab();
  maint = fake.addUser({ username: 'maint' });
  creator = fake.addUser({ username: 'creator' });
  project = fake.addProject({ pathWithNamespace: 'acme/web' });
  fake.addProjectMember(project.id, maint.id, ACCESS.maintainer);
  fake.addToken({ token: 'maint', userId: maint.id, scopes: ['api'] });
  fake.addToken({ token: 'creator', userId: creator.id, scopes: ['api'] });
});

afterEach(async () => {
  await fake.close();
});

describe('failNext', () => {
  it('fails the next matching request(s) only, and records them as injected', async () => {
    fake.failNext({ path: '/api/v4/version', status: 502, times: 2 });
    const first = await call(fake.url, 'GET', '/version', { token: 'maint' });
    expect(first.status).toBe(502);
    expect(first.headers.get('content-type')).toBe('text/html');
    expect(first.body).toContain('502 Bad Gateway');
    expect((await call(fake.url, 'GET', '/version', { token: 'maint' })).status).toBe(502);
    expect((await call(fake.url, 'GET', '/version', { token: 'maint' })).status).toBe(200);
    expect(fake.requests.map((r) => [r.status, r.injected])).toEqual([
      [502, true],
      [502, true],
      [200, false],
    ]);
    expect(fake.unexpectedRequests()).toEqual([]);
  });

  it('matches method and RegExp, with a custom JSON body and headers', async () => {
    fake.failNext({
      method: 'POST',
      path: /\/approval$/,
      status: 500,
      body: { message: '500 Internal Server Error' },
      headers: { 'X-Request-Id': 'r1' },
    });
    fake.protectEnvironment(project.id, 'production', {
      approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
    });
    const d = fake.createDeployment({ projectId: project.id, environment: 'production', userId: creator.id });
    expect(
      (await call(fake.url, 'GET', `/projects/${project.id}/deployments/${d.id}`, { token: 'maint' })).status,
    ).toBe(200);
    const failed = await call(fake.url, 'POST', `/projects/${project.id}/deployments/${d.id}/approval`, {
      token: 'maint',
      json: { status: 'approved' },
    });
    expect(failed).toMatchObject({ status: 500, body: { message: '500 Internal Server Error' } });
    expect(failed.headers.get('x-request-id')).toBe('r1');
    expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(1);
    // Injected failures still say which endpoint was called and as whom.
    expect(fake.approvalCalls()).toMatchObject([
      { status: 500, injected: true, actingUser: { username: 'maint' }, body: { status: 'approved' } },
    ]);
  });

  it('429 defaults to Rack::Attack: text/plain "Retry later\\n", Retry-After and RateLimit-* headers', async () => {
    fake.failNext({ path: '/api/v4/user', status: 429 });
    const res = await call(fake.url, 'GET', '/user', { token: 'maint' });
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.body).toBe('Retry later\n');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    for (const name of [
      'ratelimit-name',
      'ratelimit-limit',
      'ratelimit-observed',
      'ratelimit-remaining',
      'ratelimit-reset',
      'ratelimit-resettime',
    ]) {
      expect(res.headers.get(name), name).not.toBeNull();
    }
  });

  it('processFirst: the change happens but the client sees the failure', async () => {
    fake.protectEnvironment(project.id, 'production', {
      approvalRules: [{ accessLevel: ACCESS.maintainer, requiredApprovals: 1 }],
    });
    const d = fake.createDeployment({ projectId: project.id, environment: 'production', userId: creator.id });
    fake.failNext({
      path: `/api/v4/projects/${project.id}/deployments/${d.id}/approval`,
      status: 502,
      processFirst: true,
    });
    const res = await call(fake.url, 'POST', `/projects/${project.id}/deployments/${d.id}/approval`, {
      token: 'maint',
      json: { status: 'approved' },
    });
    expect(res.status).toBe(502);
    expect(fake.getDeployment(d.id)?.pendingApprovalCount).toBe(0);
    expect(fake.approvalCalls()[0]).toMatchObject({ status: 502, injected: true, actingUser: { username: 'maint' } });
  });

  it('delays a response so a client timeout fires', async () => {
    // longer than any test runs (close() ends it): the client gives up while the fake still holds the answer
    fake.failNext({ path: '/api/v4/version', delayMs: 600_000 });
    const client = new AbortController();
    const answer = fetch(`${fake.url}/api/v4/version`, {
      headers: { 'PRIVATE-TOKEN': 'maint' },
      signal: client.signal,
    });
    const held = await waitFor(() => fake.requests.find((r) => r.path === '/api/v4/version'), { what: 'the request' });
    expect(held.status).toBe(0); // arrived, not answered
    client.abort();
    await expect(answer).rejects.toThrow();
    expect(held.status).toBe(0);
    // A delay without status answers normally afterwards, once the delay is over.
    fake.failNext({ path: '/api/v4/version', delayMs: 50 });
    const started = performance.now();
    expect((await call(fake.url, 'GET', '/version', { token: 'maint' })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(49); // a lower bound: load only makes it longer
  });
});

describe('setRateLimit', () => {
  it('throttles per user per minute with the §7 headers, and the window resets on the fake clock', async () => {
    fake.setRateLimit({ limitPerMinute: 2 });
    // Rack::Attack windows are fixed minutes: start at the top of one so the test cannot straddle two.
    fake.advanceClock(60_000 - (fake.now() % 60_000));
    expect((await call(fake.url, 'GET', '/version', { token: 'maint' })).status).toBe(200);
    expect((await call(fake.url, 'GET', '/version', { token: 'maint' })).status).toBe(200);
    const limited = await call(fake.url, 'GET', '/version', { token: 'maint' });
    expect(limited.status).toBe(429);
    expect(limited.body).toBe('Retry later\n');
    expect(limited.headers.get('ratelimit-name')).toBe('throttle_authenticated_api');
    expect(limited.headers.get('ratelimit-limit')).toBe('2');
    expect(limited.headers.get('ratelimit-observed')).toBe('3');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number(limited.headers.get('ratelimit-reset')) * 1000).toBeGreaterThan(fake.now());
    // Another user has their own budget.
    expect((await call(fake.url, 'GET', '/version', { token: 'creator' })).status).toBe(200);
    fake.advanceClock(60_000);
    expect((await call(fake.url, 'GET', '/version', { token: 'maint' })).status).toBe(200);
    fake.setRateLimit(null);
    for (let i = 0; i < 5; i += 1)
      expect((await call(fake.url, 'GET', '/version', { token: 'maint' })).status).toBe(200);
  });
});
