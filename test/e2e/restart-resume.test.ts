import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnGreenlight, type GreenlightProcess } from '../helpers/child.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/**
 * The real service with a stable REPLICA_ID (the pod name in Kubernetes) and the default WORKER_STALL_TIMEOUT (15 s),
 * killed with SIGKILL while a card's sync and a click's decision are in flight, then started again as the same
 * replica. It resumes both at once: the sync job is moved back to its queue at start (not found stalled once the dead
 * process's lock expired), and the clicker, whose approval GitLab recorded before the crash, is told it was recorded.
 * The time from restart to card is reported (about 1-2 s on an idle machine; before: 15-20 s).
 */
describe('restart of a replica: its unfinished work resumes at once', () => {
  let world: World;
  let redis: Redis;
  let child: GreenlightProcess | null = null;
  const prefix = uniquePrefix('e2e-restart');
  let env: Record<string, string>;

  beforeAll(async () => {
    world = await startWorld({ requiredApprovals: 2 });
    redis = new Redis(TEST_REDIS_URL);
    env = {
      ...world.env,
      PORT: String(await freePort()),
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      REPLICA_ID: 'greenlight-worker-0',
      LOG_LEVEL: 'debug',
    };
  });
  afterAll(async () => {
    child?.proc.kill('SIGKILL');
    redis?.disconnect();
    await world?.close();
    await cleanupPrefix(prefix);
  });

  const path = (id: number) => `/api/v4/projects/${world.project.id}/deployments/${id}`;
  const cardsOf = (id: number) =>
    world.slack.messages(CHANNEL).filter((m) => m.metadata?.event_payload?.deployment_id === id);
  const arrived = (method: string, p: string) =>
    world.gitlab.requests.some((r) => r.method === method && r.path === p && r.status === 0);

  it('posts the card of a sync killed mid-run and confirms a recovered click, within seconds', async () => {
    child = await spawnGreenlight(env);
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${child.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
    const create = () =>
      world.gitlab.createDeployment({
        projectId: world.project.id,
        environment: freshEnvironment(world.gitlab, world.project.id, 2),
        tier: 'production',
        userId: world.bob.id,
      });

    const c = create();
    const cCard = await waitFor(() => cardsOf(c.id)[0], { what: 'card C' });
    await world.gitlab.webhooksIdle();

    // B: the sync's read of the deployment hangs at GitLab.
    world.gitlab.failNext({ method: 'GET', path: path(c.id + 1), delayMs: 20_000 });
    const b = create();
    await waitFor(() => arrived('GET', path(b.id)), { what: 'B read in flight' });
    const syncJobId = await waitFor(
      async () => {
        for (const id of await redis.lrange(`{${prefix}}:sync:active`, 0, -1)) {
          const data = await redis.hget(`{${prefix}}:sync:${id}`, 'data');
          if (data && (JSON.parse(data) as { deploymentId: number }).deploymentId === b.id) return id;
        }
        return null;
      },
      { what: "B's sync job active" },
    );

    // C: alice approves; GitLab takes 1.5 s to record it.
    world.gitlab.failNext({ method: 'POST', path: `${path(c.id)}/approval`, delayMs: 1_500 });
    const click = await world.slack.clickButton(child.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: cCard.ts,
      actionId: 'deploy_approve',
    });
    expect(click.status).toBe(200);
    await waitFor(() => arrived('POST', `${path(c.id)}/approval`), { what: 'approval in flight' });

    // Until this moment no other worker may take B's sync job (its lock is renewed every 7.5 s, lasts 15 s):
    // reported beside the restart-to-card time.
    const lockTtl = await redis.pttl(`{${prefix}}:sync:${syncJobId}:lock`);
    expect(lockTtl).toBeGreaterThan(0);
    const lockExpiresAt = Date.now() + lockTtl;

    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    await waitFor(() => world.gitlab.getDeployment(c.id)!.approvals.length === 1, { what: 'approval landed' });
    const beforeApprovalNotices = world.slack.ephemerals({ user: world.slackIds.alice }).length;

    const restartedAt = Date.now();
    child = await spawnGreenlight(env);
    const upAt = Date.now();
    await waitFor(() => cardsOf(b.id).length === 1, { what: 'card B after restart', timeoutMs: 30_000 });
    const cardAt = Date.now();
    console.info(
      `restart to card: ${cardAt - restartedAt} ms (${upAt - restartedAt} ms until workers started); ` +
        `the old lock had ${lockExpiresAt - cardAt} ms left`,
    );
    // Resumed by its own replica at start, not found stalled once its lock had expired (the path without a stable
    // REPLICA_ID: WORKER_STALL_TIMEOUT and up to half as much again after the crash)
    const resumed = child.logs.filter((l) => l.msg === 'job left unfinished by the previous process resumed');
    expect(resumed).toContainEqual(expect.objectContaining({ queue: 'sync', jobId: syncJobId }));
    expect(await redis.hget(`{${prefix}}:sync:${syncJobId}`, 'stc')).toBeNull();

    // The click's decision ran again and found alice's approval in GitLab: it was this click's, recorded.
    const notice = await waitFor(
      () => world.slack.ephemerals({ user: world.slackIds.alice }).slice(beforeApprovalNotices)[0],
      { what: 'alice told', timeoutMs: 30_000 },
    );
    expect(notice.text).toMatch(/You approved/);
    expect(notice.text).not.toMatch(/already|Nothing to do/);
    expect(world.gitlab.approvalCalls().filter((r) => r.path === `${path(c.id)}/approval`)).toHaveLength(1);
    expect(cardsOf(b.id)).toHaveLength(1);
  }, 90_000);
});
