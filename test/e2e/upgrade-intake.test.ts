import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, type World } from '../helpers/world.ts';

describe('rolling upgrade from 0.1: webhook jobs of the old intake queue', () => {
  let world: World;
  let app: TestApp;
  let connection: Redis;

  beforeAll(async () => {
    world = await startWorld();
    app = await startTestApp({ env: world.env, name: 'e2e-upgrade-intake' });
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    connection?.disconnect();
    await app?.stop();
    await world?.close();
  });

  it('are still handled: a delivery a 0.1 web process queued as a BullMQ job becomes a card', async () => {
    // no hook: the deployment reaches greenlight only through the job a 0.1 web process would have queued
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const legacy = new Queue('intake', { connection, prefix: `{${app.prefix}}` });
    try {
      await legacy.add(
        'deployment',
        {
          kind: 'deployment',
          projectId: world.project.id,
          projectPath: 'acme/web',
          deploymentId: d.id,
          status: 'blocked',
          statusChangedAt: null,
          environment: 'production',
        },
        { jobId: 'hook-from-0.1' },
      );
      const card = await waitFor(
        () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
        { what: 'card from the 0.1 job' },
      );
      expect(card.text).toContain('acme/web → production');
      await waitFor(async () => (await legacy.getCompletedCount()) === 1, { what: 'old job completed' });
    } finally {
      await legacy.close();
    }
  });
});
