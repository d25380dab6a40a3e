import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runGreenlight } from '../helpers/cli.ts';
import { startRedisCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Button = { action_id: string };
const buttonsOf = (blocks: Array<Record<string, unknown>>): Button[] =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);

describe('Redis Cluster (REDIS_MODE=cluster): the approval loop on a three-node cluster', () => {
  let cluster: LocalCluster;
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    world = await startWorld({ webhookMode: 'modern' });
    // one seed node is enough: the client discovers the others
    app = await startTestApp({
      env: { ...world.env, REDIS_URL: `redis://127.0.0.1:${cluster.ports[0]}`, REDIS_MODE: 'cluster' },
      name: 'e2e-cluster',
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await world?.close();
    await cluster?.stop();
  });

  it('posts the card, records the approval as the clicker and updates the card', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    const card = await waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
      { what: 'card' },
    );
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    await waitFor(() => world.gitlab.approvalCalls().length === 1, { what: 'approval call' });
    expect(world.gitlab.approvalCalls()[0]!.actingUser?.username).toBe('alice');
    const updated = await waitFor(
      () => {
        const m = world.slack.message(CHANNEL, card.ts);
        return m && buttonsOf(m.blocks).every((b) => b.action_id !== 'deploy_approve') ? m : undefined;
      },
      { what: 'card without Approve' },
    );
    expect(updated.text).toMatch(/Approved/);
    expect(world.slack.messages(CHANNEL)).toHaveLength(1);
  });

  it('keeps every key in the one slot of the {prefix} hash tag', async () => {
    const slot = (await cluster.cli(cluster.ports[0]!, 'cluster', 'keyslot', `{${app.prefix}}`)).trim();
    // Keys come and go while workers run (pacing tickets, finished jobs), so read until two reads agree.
    const { counts, inSlot } = await waitFor(
      async () => {
        const counts = await Promise.all(
          cluster.ports.map(async (port) => Number((await cluster.cli(port, 'dbsize')).trim())),
        );
        const inSlot = await Promise.all(
          cluster.ports.map(async (port) =>
            Number((await cluster.cli(port, 'cluster', 'countkeysinslot', slot)).trim()),
          ),
        );
        return counts.every((n, i) => n === inSlot[i]) ? { counts, inSlot } : undefined;
      },
      { what: 'a stable key count' },
    );
    const total = counts.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(5); // queues, jobs, the card, the open-cards set
    expect(inSlot.reduce((a, b) => a + b, 0)).toBe(total);
    expect(counts.filter((n) => n > 0)).toHaveLength(1);
  });

  it('greenlight doctor checks the cluster', async () => {
    const run = await runGreenlight(['doctor'], { ...world.env, REDIS_URL: cluster.url, REDIS_MODE: 'cluster' });
    expect(run.out).toMatch(/\[ok\] +Redis \d+\.\d+\.\d+ at redis:\/\/127\.0\.0\.1:\d+,redis:.* answers \(cluster\)/);
    expect(run.out).toMatch(/\[ok\] +the cluster reports cluster_state:ok/);
    expect(run.out).toMatch(/\[ok\] +maxmemory-policy is noeviction/);
  });
});
