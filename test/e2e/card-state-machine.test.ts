import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUser } from '../fakes/fake-gitlab.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown>;
type Button = { action_id: string };
const buttonsOf = (blocks: Block[]): Button[] =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);
const RANK: Array<[RegExp, number]> = [
  [/^Deployment approval needed/, 0],
  [/^Approved/, 1],
  [/^Deploying/, 2],
  [/^(Deployed|Rejected|Superseded|Canceled|Deployment failed)/, 3],
];
const rankOf = (text: string) => RANK.find(([re]) => re.test(text))?.[1] ?? -1;

/** The per-deployment state machine: compare-and-set, never backwards, one GitLab call per person. */
describe('card state machine (two approvals required)', () => {
  let world: World;
  let app: TestApp;
  let gina: FakeUser;
  const slack = { alice: 'U0456ALICE', carol: 'U0321CAROL', gina: 'U0777GINA' };

  beforeAll(async () => {
    world = await startWorld({ requiredApprovals: 2 });
    gina = world.gitlab.addUser({ username: 'gina', name: 'Gina Ops', email: 'gina@acme.test' });
    world.gitlab.addProjectMember(world.project.id, gina.id, 40);
    world.slack.addUser({ id: slack.gina, name: 'gina', email: 'gina@acme.test' });
    // Deployments to one environment supersede each other: tests that need two waiting cards use two.
    for (const env of ['eu-production', 'us-production'])
      world.gitlab.protectEnvironment(world.project.id, env, {
        approvalRules: [{ accessLevel: 40, requiredApprovals: 2 }],
      });
    app = await startTestApp({ env: world.env, name: 'e2e-state' });
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

  const deploy = (environment = 'production') =>
    world.gitlab.createDeployment({ projectId: world.project.id, environment, userId: world.bob.id });
  const idle = async () => {
    const q = app.app.queues;
    const counts = await Promise.all(
      [q.intake, q.scan, q.sync].map(
        async (x) => (await x.getWaitingCount()) + (await x.getActiveCount()) + (await x.getDelayedCount()),
      ),
    );
    return counts.every((n) => n === 0);
  };
  /** Idle twice in a row: a job may move from one queue to the next between two counts. */
  const drained = () => waitFor(async () => (await idle()) && (await idle()), { what: 'intake and syncs drained' });
  /** Webhooks held while `fn` runs are released afterwards, whatever happens. Starts once all earlier work is done. */
  const holding = async (fn: () => Promise<void>, order?: 'reverse') => {
    await world.gitlab.webhooksIdle();
    await drained();
    world.gitlab.holdWebhooks();
    try {
      await fn();
    } finally {
      world.gitlab.releaseWebhooks(order ? { order } : {});
    }
  };
  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for deployment ${deploymentId}` },
    );
  const cardWhere = (ts: string, what: string, test: (m: { text: string; blocks: Block[] }) => boolean) =>
    waitFor(
      () => {
        const m = world.slack.message(CHANNEL, ts);
        return m && test(m) ? m : undefined;
      },
      { what },
    );
  const callsFor = (deploymentId: number) =>
    world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${deploymentId}/`));
  const ephemeralTo = (userId: string, pattern: RegExp) =>
    waitFor(() => world.slack.ephemerals({ user: userId }).find((e) => pattern.test(e.text ?? '')), {
      what: `ephemeral ${pattern} to ${userId}`,
    });
  const decisionsIdle = () =>
    waitFor(
      async () =>
        (await app.app.queues.decisions.getWaitingCount()) + (await app.app.queues.decisions.getActiveCount()) === 0,
      { what: 'decisions drained' },
    );
  const noticesTo = (userId: string) => world.slack.ephemerals({ user: userId }).length;

  it(
    'two approvers clicking at the same moment make ' + 'exactly one GitLab call each, and the card shows both',
    async () => {
      const d = deploy();
      const card = await cardFor(d.id);
      const clicks = await Promise.all([
        world.slack.clickButton(app.url, {
          userId: slack.alice,
          channel: CHANNEL,
          ts: card.ts,
          actionId: 'deploy_approve',
        }),
        world.slack.clickButton(app.url, {
          userId: slack.carol,
          channel: CHANNEL,
          ts: card.ts,
          actionId: 'deploy_approve',
        }),
      ]);
      expect(clicks.map((c) => c.status)).toEqual([200, 200]);
      await waitFor(() => callsFor(d.id).length === 2, { what: 'two approval calls' });
      await decisionsIdle();
      expect(
        callsFor(d.id)
          .map((c) => c.actingUser?.username)
          .sort(),
      ).toEqual(['alice', 'carol']);
      expect(callsFor(d.id).every((c) => c.status === 201)).toBe(true);
      const approved = await cardWhere(card.ts, 'approved card', (m) => /^Approved/.test(m.text));
      expect(JSON.stringify(approved.blocks)).toContain('2 of 2 required');
    },
  );

  it(
    'one approver double-clicking makes one GitLab call; ' + 'every new version of the card has new block_ids',
    async () => {
      const d = deploy();
      const card = await cardFor(d.id);
      const before = noticesTo(slack.alice);
      await Promise.all([
        world.slack.clickButton(app.url, {
          userId: slack.alice,
          channel: CHANNEL,
          ts: card.ts,
          actionId: 'deploy_approve',
        }),
        world.slack.clickButton(app.url, {
          userId: slack.alice,
          channel: CHANNEL,
          ts: card.ts,
          actionId: 'deploy_approve',
        }),
      ]);
      await waitFor(() => callsFor(d.id).length === 1, { what: 'approval call' });
      await cardWhere(card.ts, '1 of 2 on the card', (m) => JSON.stringify(m.blocks).includes('1 of 2 required'));
      await decisionsIdle();
      await waitFor(
        async () =>
          (await app.app.queues.notices.getWaitingCount()) + (await app.app.queues.notices.getActiveCount()) === 0,
        { what: 'notices sent' },
      );
      expect(callsFor(d.id)).toHaveLength(1);
      expect(noticesTo(slack.alice) - before).toBeLessThanOrEqual(2);

      world.gitlab.approveInUi(d.id, world.carol.id, 'approved');
      const done = await cardWhere(card.ts, 'approved card', (m) => /^Approved/.test(m.text));
      const history = world.slack
        .message(CHANNEL, done.ts)!
        .history.filter((r) => r.via === 'chat.postMessage' || r.via === 'chat.update');
      expect(history.length).toBeGreaterThanOrEqual(3);
      const ids = history.map((r) => new Set(r.blocks.map((b) => String(b.block_id))));
      for (let i = 1; i < ids.length; i++) for (const id of ids[i]!) expect(ids[i - 1]!.has(id)).toBe(false);
    },
  );

  it('a click on a card resolved elsewhere re-renders it and says who decided', async () => {
    const rejected = deploy('eu-production');
    const approved = deploy('us-production');
    const rejectedCard = await cardFor(rejected.id);
    const approvedCard = await cardFor(approved.id);
    await holding(async () => {
      // Decided in GitLab's UI; the webhooks that would tell greenlight are held back.
      world.gitlab.approveInUi(rejected.id, world.carol.id, 'rejected', 'Broken migrations');
      world.gitlab.approveInUi(approved.id, world.carol.id, 'approved');
      world.gitlab.approveInUi(approved.id, gina.id, 'approved');

      await world.slack.clickButton(app.url, {
        userId: slack.alice,
        channel: CHANNEL,
        ts: rejectedCard.ts,
        actionId: 'deploy_approve',
      });
      await ephemeralTo(slack.alice, new RegExp(`was already rejected by <@${slack.carol}>`));
      await cardWhere(
        rejectedCard.ts,
        'rejected card',
        (m) => /^Rejected/.test(m.text) && buttonsOf(m.blocks).every((b) => b.action_id === 'deploy_open_gitlab'),
      );

      await world.slack.clickButton(app.url, {
        userId: slack.alice,
        channel: CHANNEL,
        ts: approvedCard.ts,
        actionId: 'deploy_approve',
      });
      await ephemeralTo(
        slack.alice,
        new RegExp(`was already approved \\(last by <@(${slack.carol}|${slack.gina})>\\)`),
      );
      await cardWhere(approvedCard.ts, 'approved card', (m) => /^Approved/.test(m.text));
    });
    expect(callsFor(rejected.id)).toHaveLength(0);
    expect(callsFor(approved.id)).toHaveLength(0);
  });

  it('webhooks delivered out of order never move a card backwards', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    await holding(async () => {
      world.gitlab.approveInUi(d.id, world.carol.id, 'approved');
      world.gitlab.approveInUi(d.id, gina.id, 'approved');
      world.gitlab.playJob(d.jobId, world.alice.id);
      world.gitlab.finishJob(d.jobId, 'success');
    }, 'reverse');
    await world.gitlab.webhooksIdle();
    await cardWhere(card.ts, 'deployed card', (m) => /^Deployed/.test(m.text));
    await drained();
    // Every event re-reads GitLab: the newest state is shown once, the late (older) events change nothing.
    const ranks = world.slack.message(CHANNEL, card.ts)!.history.map((r) => rankOf(r.text));
    expect(ranks).toEqual([0, 3]);
    expect(ranks.every((r) => r >= 0)).toBe(true);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(world.slack.message(CHANNEL, card.ts)!.text).toMatch(/^Deployed/);
  });

  it('a newer deployment to the same environment supersedes the waiting card, which links to it', async () => {
    const older = deploy();
    const olderCard = await cardFor(older.id);
    const newer = deploy();
    await cardFor(newer.id);
    const superseded = await cardWhere(olderCard.ts, 'superseded card', (m) => /^Superseded/.test(m.text));
    const job = world.gitlab.getJob(newer.jobId)!;
    expect(JSON.stringify(superseded.blocks)).toContain(`|#${newer.id}>`);
    expect(JSON.stringify(superseded.blocks)).toContain(`/jobs/${job.id}`);
    expect(buttonsOf(superseded.blocks).map((b) => b.action_id)).toEqual(['deploy_open_gitlab']);

    // A click from an old view of the superseded card changes nothing in GitLab.
    await world.slack.clickButton(app.url, {
      userId: slack.carol,
      channel: CHANNEL,
      ts: (await cardFor(newer.id)).ts,
      actionId: 'deploy_approve',
    });
    await waitFor(() => callsFor(newer.id).length === 1, { what: 'approval of the newer one' });
    expect(callsFor(older.id)).toHaveLength(0);
  });

  it('supersedes whichever way round the two deployments arrive', async () => {
    let older = { id: 0 };
    let newer = { id: 0 };
    await holding(async () => {
      older = deploy();
      newer = deploy();
    }, 'reverse');
    await cardFor(newer.id);
    await world.gitlab.webhooksIdle();
    await drained();
    const olderCard = world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === older.id);
    // Either the older one was never posted, or its card already says it was superseded.
    if (olderCard) await cardWhere(olderCard.ts, 'older card superseded', (m) => /^Superseded/.test(m.text));
    expect(/^Deployment approval needed/.test((await cardFor(newer.id)).text)).toBe(true);
  });
});
