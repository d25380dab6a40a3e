import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActor } from '../../../src/adapters/gitlab/actors.ts';
import { createGitLabReader } from '../../../src/adapters/gitlab/reader.ts';

const GITLAB = 'https://gitlab.example.test';

describe('GitLab adapter errors', () => {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => {
    expect(nock.isDone()).toBe(true);
    nock.cleanAll();
  });

  it('does not retry a 429 on its own and carries Retry-After to the job', async () => {
    nock(GITLAB)
      .get('/api/v4/projects/1/deployments/2')
      .once()
      .reply(429, 'Retry later\n', { 'content-type': 'text/plain', 'retry-after': '7' });
    const reader = createGitLabReader({ url: GITLAB, token: 't' });
    await expect(reader.getDeployment({ projectId: 1, deploymentId: 2 })).rejects.toMatchObject({
      code: 'gitlab_rate_limited',
      retryable: true,
      retryAfterMs: 7000,
    });
  });

  it('maps 5xx to a retryable error and 404 to null', async () => {
    nock(GITLAB)
      .get('/api/v4/projects/1/deployments/2')
      .reply(502, { message: 'bad gateway' })
      .get('/api/v4/projects/1/deployments/3')
      .reply(404, { message: '404 Not found' });
    const reader = createGitLabReader({ url: GITLAB, token: 't' });
    await expect(reader.getDeployment({ projectId: 1, deploymentId: 2 })).rejects.toMatchObject({
      code: 'gitlab_unavailable',
      retryable: true,
    });
    expect(await reader.getDeployment({ projectId: 1, deploymentId: 3 })).toBeNull();
  });

  it.each([
    [
      "You don't have permission to approve this deployment. Contact the project or group owner for help.",
      'no_permission',
    ],
    [
      'You cannot approve your own deployment. This configuration ' +
        'can be adjusted in the protected environment settings.',
      'self_approval',
    ],
    ['This deployment is not waiting for approvals.', 'not_waiting'],
  ])('classifies the 400 "%s"', async (message, detail) => {
    nock(GITLAB).post('/api/v4/projects/1/deployments/2/approval').reply(400, { message });
    const actor = createActor(
      { url: GITLAB, token: 'admin' },
      { id: 5, username: 'alice', name: 'Alice' },
      { token: 'admin' },
      { sudo: true },
    );
    await expect(actor.recordDecision({ projectId: 1, deploymentId: 2 }, { status: 'approved' })).rejects.toMatchObject(
      { code: 'gitlab_refused', retryable: false, detail },
    );
  });

  it('sends the Sudo header for the person in sudo mode, and never puts the token in the error', async () => {
    nock(GITLAB, { reqheaders: { sudo: '5', 'private-token': 'admin-secret' } })
      .post('/api/v4/projects/1/deployments/2/approval', { status: 'rejected', comment: 'no' })
      .reply(401, { message: '401 Unauthorized' });
    const actor = createActor(
      { url: GITLAB, token: 'admin-secret' },
      { id: 5, username: 'alice', name: 'Alice' },
      { token: 'admin-secret' },
      { sudo: true },
    );
    const error = await actor
      .recordDecision({ projectId: 1, deploymentId: 2 }, { status: 'rejected', comment: 'no' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'gitlab_unauthorized' });
    expect(JSON.stringify(error) + String(error) + String((error as Error).stack)).not.toContain('admin-secret');
  });
});
