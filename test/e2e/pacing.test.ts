import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const CARDS = 5;

describe('posting pace under a burst (fake Slack enforces 1 message/s/channel with real 429s)', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld();
    // Slack's pace allows short bursts: a post that left on its slot but reached the fake late (a loaded machine
    // delays timers and sockets) next to one on time is not a violation; posting faster than 1/s still is.
    world.slack.setPostMessagePace({ perChannelPerSecond: 1, burst: 2 });
    // one environment per deployment: a newer deployment to the same environment would supersede the older
    for (let i = 0; i < CARDS; i += 1)
      world.gitlab.protectEnvironment(world.project.id, `burst-${i}`, {
        approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
      });
    // greenlight's production pace (slackPacing: {} = the defaults)
    app = await startTestApp({
      env: world.env,
      name: 'e2e-pacing',
      policy: 'reminders: { after: 1s, every: 1h, max: 1 }\nescalation: []\n',
      options: { slackPacing: {} },
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  it(
    'posts every card and every reminder to one channel ' + "exactly once, without running into Slack's limit",
    async () => {
      // one 429 anyway (someone else posting with the same token): retried after its Retry-After
      world.slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
      const ids = Array.from(
        { length: CARDS },
        (_, i) =>
          world.gitlab.createDeployment({
            projectId: world.project.id,
            environment: `burst-${i}`,
            userId: world.bob.id,
          }).id,
      );

      const cards = await waitFor(
        () => {
          const found = ids.map((id) =>
            world.slack
              .messages(CHANNEL)
              .filter(
                (m) => m.metadata?.event_type === 'greenlight_card' && m.metadata.event_payload?.deployment_id === id,
              ),
          );
          return found.every((f) => f.length > 0) ? found : undefined;
        },
        { what: 'all cards', timeoutMs: 30_000 },
      );
      await waitFor(() => cards.every(([card]) => world.slack.thread(CHANNEL, card!.ts).length > 0), {
        what: 'all reminders',
        timeoutMs: 30_000,
      });
      await waitFor(
        async () => (await app.app.queues.nudges.getJobCounts('delayed', 'waiting', 'active')).delayed === 0,
        { what: 'nothing left to send' },
      );

      for (const found of cards) expect(found).toHaveLength(1);
      for (const [card] of cards) expect(world.slack.thread(CHANNEL, card!.ts)).toHaveLength(1);
      const posts = world.slack.callsTo('chat.postMessage');
      expect(posts.filter((c) => c.response.status === 200)).toHaveLength(2 * CARDS);
      // the injected 429 is the only one: greenlight's own pace never hit Slack's
      expect(world.slack.rateLimited()).toHaveLength(1);
      expect(app.logs.find('post paced: job delayed to its slot').length).toBeGreaterThan(0);
      expect(app.logs.find('job failed for good')).toEqual([]);
      expect(world.slack.unexpected()).toEqual([]);
    },
    60_000,
  );
});
