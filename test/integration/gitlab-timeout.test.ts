import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitLabReader } from '../../src/adapters/gitlab/reader.ts';
import type { GitLabGate } from '../../src/adapters/gitlab/request-budget.ts';

/**
 * GitLab's time to answer counts from when the request budget lets a request go, not from when it was asked for:
 * a request that waited its turn behind the sweep is not reported as GitLab not answering (at a restart under load,
 * group listing pages waited longer than the timeout and the listing stopped at page 3 of 100).
 */
describe('GitLab request timeout and the request budget (a loopback GitLab)', () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 1, name: 'web', path_with_namespace: 'acme/web', web_url: 'https://gl/acme/web' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** A budget that lets every request wait `ms` before it goes (a sweep ahead of it). */
  const slowGate = (ms: number): GitLabGate => ({
    admit: () => new Promise((resolve) => setTimeout(resolve, ms)),
    heard: async () => undefined,
  });

  it('a request that waited for the budget longer than the timeout still gets its whole timeout', async () => {
    const reader = createGitLabReader({ url, token: 't', timeoutMs: 1_000, gate: slowGate(1_500) });
    const project = await reader.getProject(1);
    expect(project.path_with_namespace).toBe('acme/web');
    expect(seen).toContain('/api/v4/projects/1');
  });

  it('GitLab not answering within the timeout after admission is still a timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const reader = createGitLabReader({
        url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        token: 't',
        timeoutMs: 200,
        gate: slowGate(0),
      });
      await expect(reader.getProject(1)).rejects.toMatchObject({ code: 'gitlab_unavailable', detail: 'timeout' });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
