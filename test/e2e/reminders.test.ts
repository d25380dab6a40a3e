import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NudgeState } from '../../src/core/reminders/nudge-plan.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const ONCALL = 'C0ONCALL';
// Short durations so the clock can run for real: production reminds twice and escalates once;
// staging reminds (and can be snoozed); "slow" reminds after an hour: never during a test unless the test moves
// the app's clock and fires the timer itself (no race with a busy machine).
const POLICY = `
reminders: { after: 1s, every: 1s, max: 2 }
escalation:
  - { after: 2500ms, channel: ${ONCALL}, mention: ["<!subteam^S0ONCALL>", U0999DAVE] }
routes:
  - match: { environment: staging }
    reminders: { after: 1s, every: 30s, max: 3 }
    escalation: []
  - match: { environment: slow }
    reminders: { after: 1h, every: 1h, max: 1 }
    escalation: []
`;

type Block = Record<string, unknown>;
const buttons = (blocks: Block[]) =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Array<{ action_id: string; value?: string }>);
const contextText = (blocks: Block[]) => JSON.stringify(blocks.filter((b) => b.type === 'context'));

describe('reminders and escalation (real time, real Redis)', () => {
  let world: World;
  let app: TestApp;
  let redis: Redis;
  // the app's Clock: real time, moved forward only by the test that fires a "slow" reminder (the last one)
  let clockOffsetMs = 0;

  beforeAll(async () => {
    world = await startWorld();
    world.slack.addChannel({ id: ONCALL, name: 'oncall', botIsMember: true });
    for (const env of ['staging', 'slow'])
      world.gitlab.protectEnvironment(world.project.id, env, {
        approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
      });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-reminders',
      policy: POLICY,
      options: { clock: { now: () => Date.now() + clockOffsetMs } },
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.stop();
    await world?.close();
  });

  const deploy = (environment = 'production') =>
    world.gitlab.createDeployment({ projectId: world.project.id, environment, userId: world.bob.id });
  const cardFor = (deploymentId: number) =>
    waitFor(
      () =>
        world.slack
          .messages(CHANNEL)
          .find(
            (m) =>
              m.metadata?.event_type === 'greenlight_card' && m.metadata.event_payload?.deployment_id === deploymentId,
          ),
      { what: `card for ${deploymentId}` },
    );
  const replies = (ts: string) => world.slack.thread(CHANNEL, ts);
  const schedule = async (deploymentId: number) => {
    const data = await redis.hget(`{${app.prefix}}:nudge:${deploymentId}`, 'data');
    return data ? (JSON.parse(data) as NudgeState) : null;
  };
  const cancelledLog = (deploymentId: number) =>
    app.logs.find('reminders cancelled: the deployment stopped waiting').find((l) => l.deploymentId === deploymentId);
  const nudgeJobs = async (deploymentId: number) =>
    (await app.app.queues.nudges.getJobs(['delayed', 'waiting', 'active'])).filter(
      (j) => j?.data?.ref?.deploymentId === deploymentId,
    );

  it(
    'reminds in the card thread, mentioning who can still ' + 'approve, escalates with a link to the card, then stops',
    async () => {
      const d = deploy();
      const card = await cardFor(d.id);
      expect(contextText(card.blocks)).toContain('next reminder');

      const [first, second] = await waitFor(() => (replies(card.ts).length >= 2 ? replies(card.ts) : undefined), {
        what: 'two reminders',
      });
      for (const [i, reply] of [first!, second!].entries()) {
        // alice and carol can approve; bob triggered it and is never asked
        expect(reply.text).toMatch(
          /^Reminder: acme\/web → production has waited \d+s for approval\. <@U0456ALICE> <@U0321CAROL>$/,
        );
        expect(JSON.stringify(reply.blocks)).toContain(`reminder ${i + 1} of 2`);
        expect(JSON.stringify(reply.blocks)).not.toContain('U0789BOB');
        expect(buttons(reply.blocks).map((b) => b.action_id)).toEqual(['nudge_snooze']);
      }

      const escalation = await waitFor(
        () => world.slack.messages(ONCALL).find((m) => m.metadata?.event_payload?.deployment_id === d.id),
        { what: 'escalation' },
      );
      expect(escalation.text).toContain('<!subteam^S0ONCALL> <@U0999DAVE>');
      expect(JSON.stringify(escalation.blocks)).toContain(
        `https://acme.slack.com/archives/${CHANNEL}/p${card.ts.replace('.', '')}`,
      );

      // everything planned has been sent: nothing is armed, the card no longer announces a next reminder
      await waitFor(async () => (await schedule(d.id))?.due === null && (await nudgeJobs(d.id)).length === 0, {
        what: 'schedule finished',
      });
      await waitFor(() => !contextText(world.slack.message(CHANNEL, card.ts)!.blocks).includes('next '), {
        what: 'card without next reminder',
      });
      expect(replies(card.ts)).toHaveLength(2);
      expect(
        world.slack.messages(ONCALL).filter((m) => m.metadata?.event_payload?.deployment_id === d.id),
      ).toHaveLength(1);
      expect(world.slack.unexpected()).toEqual([]);
    },
  );

  it('cancels every reminder the moment the deployment is approved', async () => {
    const d = deploy('slow');
    const card = await cardFor(d.id);
    await waitFor(async () => (await nudgeJobs(d.id)).length === 1, { what: 'armed timer' });
    expect((await nudgeJobs(d.id))[0]!.id).toBe(`nudge-${d.id}-0`);

    world.gitlab.approveInUi(d.id, world.carol.id, 'approved');
    await waitFor(() => /Approved/.test(world.slack.message(CHANNEL, card.ts)?.text ?? ''), { what: 'approved card' });
    await waitFor(async () => (await schedule(d.id)) === null && (await nudgeJobs(d.id)).length === 0, {
      what: 'schedule dropped',
    });
    // the sync logs the cancel after dropping the schedule and its timer: wait for the line, do not just look
    await waitFor(() => cancelledLog(d.id), { what: 'reminders cancelled (log)' });
    expect(replies(card.ts)).toEqual([]);
  });

  it('cancels the reminders of a deployment superseded by a newer one to the same environment', async () => {
    const older = deploy('slow');
    await cardFor(older.id);
    await waitFor(async () => (await nudgeJobs(older.id)).length === 1, { what: 'armed timer' });
    const newer = deploy('slow');
    await cardFor(newer.id);
    // The card is in Slack before its sync arms the reminders (post, record, then schedule), and the older card's
    // re-sync runs beside it: wait for the newer one's timer as for the older one's, do not read its schedule yet.
    await waitFor(async () => (await nudgeJobs(newer.id)).length === 1, { what: 'newer armed timer' });
    await waitFor(async () => (await schedule(older.id)) === null && (await nudgeJobs(older.id)).length === 0, {
      what: 'older schedule dropped',
    });
    expect((await waitFor(() => cancelledLog(older.id), { what: 'older reminders cancelled (log)' })).state).toBe(
      'superseded',
    );
    expect((await schedule(newer.id))?.due?.kind).toBe('reminder');
    world.gitlab.cancelDeployment(newer.id);
    await waitFor(async () => (await schedule(newer.id)) === null, { what: 'newer schedule dropped' });
  });

  it(
    '"Snooze 1h" delays the next reminder, notes who ' + 'snoozed in the thread, and the card shows the new time',
    async () => {
      const d = deploy('staging');
      const card = await cardFor(d.id);
      const [reminder] = await waitFor(() => (replies(card.ts).length >= 1 ? replies(card.ts) : undefined), {
        what: 'first reminder',
      });
      const clickedAt = Date.now();
      const click = await world.slack.clickButton(app.url, {
        userId: world.slackIds.alice,
        channel: CHANNEL,
        ts: reminder!.ts,
        actionId: 'nudge_snooze',
      });
      expect(click.status).toBe(200);

      const note = await waitFor(() => replies(card.ts).find((m) => m.text.includes('snoozed')), {
        what: 'snooze note',
      });
      expect(note.text).toMatch(
        /^:zzz: <@U0456ALICE> snoozed reminders until <!date\^\d+\^\{time\}\|.*>\. Next reminder <!date\^\d+/,
      );
      const state = (await schedule(d.id))!;
      expect(state.snoozedBy).toBe('U0456ALICE');
      expect(state.snoozedUntil).toBeGreaterThanOrEqual(clickedAt + 3_600_000);
      expect(state.due!.at).toBe(state.snoozedUntil);
      const [timer] = await nudgeJobs(d.id);
      expect(timer!.id).toBe(`nudge-${d.id}-${state.seq}`);
      // the job's delay was computed a moment before BullMQ stamped it
      expect(Math.abs(timer!.timestamp + timer!.delay - state.due!.at)).toBeLessThan(1_000);
      await waitFor(
        () =>
          contextText(world.slack.message(CHANNEL, card.ts)!.blocks).includes(
            `<!date^${Math.floor(state.due!.at / 1000)}^`,
          ),
        { what: 'card with the snoozed time' },
      );
      // only the reminder and the note: the second reminder is an hour away, not 30 s
      expect(replies(card.ts).map((m) => (m.text.includes('snoozed') ? 'note' : 'reminder'))).toEqual([
        'reminder',
        'note',
      ]);
    },
  );

  it(
    'a reminder that finds the deployment resolved (its ' + 'webhook lost) sends nothing and updates the card',
    async () => {
      const d = deploy('slow');
      const card = await cardFor(d.id);
      await waitFor(async () => (await nudgeJobs(d.id)).length === 1, { what: 'armed timer' });
      // every webhook about the new deployment delivered and synced; the next ones are lost
      await world.gitlab.webhooksIdle();
      await waitFor(
        async () =>
          (await app.app.queues.sync.getWaitingCount()) +
            (await app.app.queues.sync.getActiveCount()) +
            (await app.app.queues.scan.getWaitingCount()) +
            (await app.app.queues.scan.getActiveCount()) ===
          0,
        { what: 'syncs drained' },
      );
      world.gitlab.holdWebhooks();
      try {
        world.gitlab.cancelDeployment(d.id);
        // an hour later, for the app: its timer fires now
        clockOffsetMs = 3_600_000;
        const [timer] = await nudgeJobs(d.id);
        await timer!.promote();
        await waitFor(
          () => app.logs.find('reminder not sent: the deployment no longer waits').find((l) => l.deploymentId === d.id),
          { what: 'reminder skipped' },
        );
        await waitFor(() => /Canceled/.test(world.slack.message(CHANNEL, card.ts)?.text ?? ''), {
          what: 'canceled card',
        });
        expect(await schedule(d.id)).toBeNull();
        expect(replies(card.ts)).toEqual([]);
      } finally {
        world.gitlab.releaseWebhooks();
      }
    },
  );
});
