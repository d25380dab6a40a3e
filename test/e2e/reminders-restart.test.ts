import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGreenlight, type Greenlight } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { LogCapture } from '../helpers/app.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

describe('reminder schedules survive restarts and fire once with several instances', () => {
  let world: World;
  let env: Record<string, string>;
  const prefix = uniquePrefix('e2e-restart');
  const running: Greenlight[] = [];
  let redis: Redis;

  const startInstance = async () => {
    const app = await createGreenlight(loadConfig(env), { logDestination: new LogCapture() });
    await app.start();
    running.push(app);
    return app;
  };
  const stopInstance = async (app: Greenlight) => {
    await app.stop();
    running.splice(running.indexOf(app), 1);
  };

  beforeAll(async () => {
    world = await startWorld();
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-policy-'));
    writeFileSync(join(dir, 'policy.yml'), 'reminders: { after: 3s, every: 1s, max: 2 }\nescalation: []\n');
    env = {
      ...world.env,
      PORT: '0',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'debug',
      CONFIG_FILE: join(dir, 'policy.yml'),
    };
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    for (const app of [...running]) await app.stop();
    redis?.disconnect();
    await cleanupPrefix(prefix);
    await world?.close();
  });

  it('keeps the timer in Redis while no worker runs, then sends each reminder exactly once', async () => {
    const first = await startInstance();
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${first.url()}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      { what: 'card' },
    );
    await waitFor(async () => (await first.queues.nudges.getJob(`nudge-${d.id}-0`))?.delay, { what: 'armed timer' });
    await world.gitlab.webhooksIdle();
    await stopInstance(first);

    // Nothing runs now; the schedule and its delayed job are still in Redis.
    const queue = new Queue('nudges', { connection: redis, prefix: `{${prefix}}` });
    try {
      const job = await queue.getJob(`nudge-${d.id}-0`);
      expect(await job?.getState()).toBe('delayed');
    } finally {
      await queue.close();
    }
    expect(await redis.exists(`{${prefix}}:nudge:${d.id}`)).toBe(1);
    expect(world.slack.thread(CHANNEL, card.ts)).toEqual([]);

    // Two new instances on the same prefix (a restart, scaled out): every reminder still goes out once.
    await Promise.all([startInstance(), startInstance()]);
    await waitFor(() => world.slack.thread(CHANNEL, card.ts).length >= 2, { what: 'two reminders', timeoutMs: 10_000 });
    await waitFor(
      async () => JSON.parse((await redis.hget(`{${prefix}}:nudge:${d.id}`, 'data')) ?? '{}').due === null,
      { what: 'schedule finished' },
    );
    const reminders = world.slack.thread(CHANNEL, card.ts);
    expect(reminders.map((m) => m.metadata?.event_payload)).toEqual([
      { deployment_id: d.id, seq: 0 },
      { deployment_id: d.id, seq: 1 },
    ]);
    expect(world.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === card.ts)).toHaveLength(2);
  });
});
