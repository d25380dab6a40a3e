import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnGreenlight, type GreenlightProcess } from '../helpers/child.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/**
 * The real service in a child process, killed with SIGKILL while three things are under way at once, then
 * started again on the same Redis prefix (and port, where GitLab's webhook points):
 *  A. a webhook was acknowledged and its deployment is being read from GitLab;
 *  B. a card is being posted to Slack (Slack takes it, the answer never arrives);
 *  C. an approval is being recorded in GitLab (GitLab records it, the answer never arrives).
 * Nothing may be lost and nothing may happen twice.
 */
describe('crash safety: SIGKILL at any point loses nothing and duplicates nothing', () => {
  let world: World;
  let redis: Redis;
  let child: GreenlightProcess | null = null;
  const prefix = uniquePrefix('e2e-crash');
  let env: Record<string, string>;

  beforeAll(async () => {
    world = await startWorld({ requiredApprovals: 2 });
    redis = new Redis(TEST_REDIS_URL);
    env = {
      ...world.env,
      PORT: String(await freePort()),
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'debug',
      WORKER_STALL_TIMEOUT: '1s',
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
  const claim = async (id: number) => {
    const data = await redis.hget(`{${prefix}}:card:${id}`, 'data');
    return data ? (JSON.parse(data) as { ts: string | null }) : null;
  };

  it(
    'recovers a webhook in flight, a card post in flight ' + 'and an approval in flight after SIGKILL and restart',
    async () => {
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

      // C's card exists before the crash.
      const c = create();
      const cCard = await waitFor(() => cardsOf(c.id)[0], { what: 'card C' });
      await world.gitlab.webhooksIdle();

      // A: GitLab holds the read that follows the webhook (past the crash; answered to nobody when the fake closes).
      world.gitlab.failNext({ method: 'GET', path: path(c.id + 1), until: new Promise(() => {}) });
      const a = create();
      await waitFor(() => arrived('GET', path(a.id)), { what: 'A read in flight' });
      expect(
        world.gitlab.deliveries
          .filter((d) => JSON.stringify(d.payload).includes(`"deployment_id":${a.id}`))
          .some((d) => d.status === 202),
      ).toBe(true);

      // B: Slack holds the post of the card until after the crash.
      const releasePosts = world.slack.holdCalls('chat.postMessage');
      const b = create();
      await waitFor(async () => (await claim(b.id))?.ts === null, { what: 'B claimed' });
      // (the post may first wait for its pacing slot: kill only once Slack has it)
      await waitFor(
        () =>
          world.slack
            .inFlight('chat.postMessage')
            .some((p) => JSON.stringify(p.args).includes(`"deployment_id":${b.id}`)),
        { what: 'B post in flight at Slack' },
      );

      // C: GitLab holds alice's approval until after the crash.
      let releaseApproval: () => void = () => {};
      const approvalHeld = new Promise<void>((resolve) => (releaseApproval = resolve));
      world.gitlab.failNext({ method: 'POST', path: `${path(c.id)}/approval`, until: approvalHeld });
      const click = await world.slack.clickButton(child.url, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: cCard.ts,
        actionId: 'deploy_approve',
      });
      expect(click.status).toBe(200);
      await waitFor(() => arrived('POST', `${path(c.id)}/approval`), { what: 'approval in flight' });

      child.proc.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      releasePosts();
      releaseApproval();
      // What was in flight lands on the other side anyway: Slack shows B's card, GitLab has alice's approval.
      await waitFor(() => cardsOf(b.id).length === 1 && world.gitlab.getDeployment(c.id)!.approvals.length === 1, {
        what: 'in-flight effects landed',
      });

      child = await spawnGreenlight(env);
      await waitFor(() => cardsOf(a.id).length === 1, { what: 'card A after restart', timeoutMs: 15_000 });
      await waitFor(async () => (await claim(b.id))?.ts === cardsOf(b.id)[0]!.ts, {
        what: 'card B adopted',
        timeoutMs: 15_000,
      });
      await waitFor(
        () =>
          world.slack
            .ephemerals({ user: world.slackIds.alice })
            .some((e) => /already approved|You approved/.test(e.text)),
        { what: 'alice told', timeoutMs: 15_000 },
      );
      await waitFor(() => /1 of 2|1\/2/.test(JSON.stringify(world.slack.message(CHANNEL, cCard.ts)?.blocks ?? [])), {
        what: 'card C shows the approval',
        timeoutMs: 15_000,
      });

      // Quiet again: every queue drained, then count.
      await waitFor(
        async () => {
          const active = await Promise.all(
            ['intake', 'scan', 'sync', 'decisions', 'notices'].map((q) => redis.llen(`{${prefix}}:${q}:active`)),
          );
          const waiting = await Promise.all(
            ['intake', 'scan', 'sync', 'decisions', 'notices'].map((q) => redis.llen(`{${prefix}}:${q}:wait`)),
          );
          return [...active, ...waiting].every((n) => n === 0);
        },
        { what: 'queues drained', timeoutMs: 15_000 },
      );
      for (const d of [a, b, c]) expect(cardsOf(d.id), `cards of ${d.id}`).toHaveLength(1);
      expect(
        world.slack
          .callsTo('chat.postMessage')
          .filter((call) => JSON.stringify(call.args).includes(`"deployment_id":${b.id}`)),
      ).toHaveLength(1);
      expect(world.gitlab.approvalCalls().filter((r) => r.path === `${path(c.id)}/approval`)).toHaveLength(1);
      expect(world.gitlab.getDeployment(c.id)!.approvals.filter((x) => x.userId === world.alice.id)).toHaveLength(1);
    },
  );
});
