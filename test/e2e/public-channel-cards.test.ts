import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/adapters/redis/connection.ts';
import { createCardStore } from '../../src/adapters/redis/card-store.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const PUBLIC = 'C0PUBLIC01';

/**
 * Cards in a public channel the bot posts in through chat:write.public without being a member: Slack answers
 * not_in_channel to conversations.history there, so a card whose post was not confirmed cannot be looked up.
 */
describe('cards in a channel the bot is not a member of', () => {
  let world: World;
  let app: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    world.slack.addChannel({ id: PUBLIC, name: 'releases', botIsMember: false });
    app = await startTestApp({ env: { ...world.env, SLACK_CHANNEL: PUBLIC }, name: 'e2e-public-channel' });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
    });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.stop();
    await world?.close();
  });

  const cardsOf = (id: number) =>
    world.slack.messages(PUBLIC).filter((m) => m.metadata?.event_payload?.deployment_id === id && !m.deleted);

  it('posts the card again once no post can still be in flight, instead of failing the sync for good', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const first = await waitFor(() => cardsOf(d.id)[0], { what: 'card' });
    await world.gitlab.webhooksIdle();

    // A post that was never confirmed (a Slack timeout, a crash) and never arrived: the claim has no ts.
    const deleted = await fetch(`${world.slack.apiUrl}chat.delete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.slack.botToken}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ channel: PUBLIC, ts: first.ts }),
    });
    expect(((await deleted.json()) as { ok: boolean }).ok).toBe(true);
    const cards = createCardStore(redis, keyspace(app.prefix));
    const record = (await cards.get(d.id))!;
    expect(await cards.replace(record.version, { ...record, ts: null, claimedAt: Date.now() - 60_000 })).toBe(true);

    await app.app.producer.requestSync({ projectId: world.project.id, deploymentId: d.id }, 'test: unconfirmed post');
    const again = await waitFor(() => cardsOf(d.id)[0], { what: 'the card posted again' });
    expect(again.ts).not.toBe(first.ts);
    await waitFor(async () => (await cards.get(d.id))?.ts === again.ts, { what: 'the new card recorded' });
    expect(cardsOf(d.id)).toHaveLength(1);
  });
});
