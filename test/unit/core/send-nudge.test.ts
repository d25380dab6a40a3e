import { beforeEach, describe, expect, it } from 'vitest';
import { syncCard } from '../../../src/core/cards/sync-card.ts';
import { GreenlightError } from '../../../src/core/errors.ts';
import type { Policy } from '../../../src/core/policy.ts';
import type { CardRecord } from '../../../src/core/ports.ts';
import { sendDueNudge } from '../../../src/core/reminders/send-nudge.ts';
import { snoozeNudges } from '../../../src/core/reminders/snooze-nudges.ts';
import { nextNudgeFor, trackNudges, type NudgeDeps } from '../../../src/core/reminders/track-nudges.ts';
import {
  CapturingLogger,
  FakeCardStore,
  FakeChat,
  FakeClock,
  FakeGitLabReader,
  FakeIdentity,
  FakeQueue,
  FakeVisibility,
} from '../../fakes/in-memory.ts';
import { FakeMembership, FakeNudgeChat, FakeNudgeStore, FakeNudgeTimer } from '../../fakes/in-memory-nudges.ts';
import { alice, approvedBy, bob, carol, rule, waitingDeployment } from '../../fixtures/deployments.ts';

const M = 60_000;
const H = 60 * M;
const created = Date.parse('2026-11-23T09:52:25.000Z');
const ref = { projectId: 42, deploymentId: 4711 };

const policy: Policy = {
  defaults: {
    channel: 'C0DEFAULT',
    reminders: { afterMs: 30 * M, everyMs: H, max: 2 },
    escalation: [{ afterMs: 2 * H, channel: 'C0ONCALL', mention: ['<!subteam^S0ONCALL>'] }],
    workingHours: null,
    runAfterApproval: 'button',
  },
  routes: [{ match: { environment: 'staging' }, overrides: { reminders: null, escalation: [] } }],
  projects: [],
  groups: [],
  sweepEveryMs: 300_000,
  sweepListEveryMs: 3_600_000,
  sweepClassifyEveryMs: 86_400_000,
  fourEyes: { forbidCommitAuthor: false },
  users: [],
};

describe('reminders and escalations (core)', () => {
  let gitlab: FakeGitLabReader;
  let cards: FakeCardStore;
  let store: FakeNudgeStore;
  let timer: FakeNudgeTimer;
  let chat: FakeNudgeChat;
  let identity: FakeIdentity;
  let membership: FakeMembership;
  let queue: FakeQueue;
  let clock: FakeClock;
  let logs: CapturingLogger;
  let deps: NudgeDeps;

  const cardRecord = (over: Partial<CardRecord> = {}): CardRecord => ({
    deploymentId: 4711,
    projectId: 42,
    channel: 'C0DEFAULT',
    ts: '1759312345.000200',
    version: 1,
    state: 'waiting',
    fingerprint: 'x',
    claimedAt: created,
    updatedAt: created,
    snapshot: waitingDeployment(),
    ...over,
  });
  /** A waiting deployment with its card, tracked: the schedule exists and its first timer is armed. */
  const tracked = async () => {
    gitlab.put(waitingDeployment());
    await cards.create(cardRecord());
    expect(await trackNudges(deps, ref)).toBe('started');
  };
  /** Moves the clock to the armed timer and fires it. */
  const fire = async (opts: { giveUp?: boolean } = {}) => {
    const t = timer.take(4711);
    clock.ms = Math.max(clock.ms, t.at);
    return sendDueNudge(deps, { ref, seq: t.seq }, opts);
  };

  beforeEach(() => {
    gitlab = new FakeGitLabReader();
    cards = new FakeCardStore();
    store = new FakeNudgeStore();
    timer = new FakeNudgeTimer();
    chat = new FakeNudgeChat();
    identity = new FakeIdentity();
    membership = new FakeMembership();
    queue = new FakeQueue();
    clock = new FakeClock(created + M);
    logs = new CapturingLogger();
    deps = {
      gitlab,
      cards,
      nudges: store,
      timer,
      chat,
      identity,
      membership,
      visibility: new FakeVisibility(),
      queue,
      policy,
      clock,
      logger: logs,
    };
    membership.members.set('Maintainers', [alice, bob, carol]);
    identity.link('U0456ALICE', alice);
    identity.link('U0789BOB', bob);
    identity.link('U0321CAROL', carol);
  });

  describe('trackNudges', () => {
    it('schedules once for a posted, waiting card', async () => {
      await tracked();
      expect([...timer.armed.values()]).toEqual([{ deploymentId: 4711, seq: 0, at: created + 30 * M }]);
      expect(await trackNudges(deps, ref)).toBe('kept');
      expect(timer.armed.size).toBe(1);
    });

    it('cancels everything the moment the card stops waiting, or the deployment is gone', async () => {
      await tracked();
      await cards.replace(1, cardRecord({ version: 2, state: 'approved' }));
      expect(await trackNudges(deps, ref)).toBe('cancelled');
      expect(store.states.size).toBe(0);
      expect(timer.armed.size).toBe(0);
      expect(timer.cancelled).toEqual(['nudge-4711-0']);
      expect(
        logs.lines.some(
          (l) => l.msg === 'reminders cancelled: the deployment stopped waiting' && l.state === 'approved',
        ),
      ).toBe(true);

      await cards.delete(4711);
      await tracked();
      expect(await trackNudges(deps, ref, { gone: true })).toBe('cancelled');
      expect(store.states.size).toBe(0);
    });

    it('waits for the card post to be confirmed, and plans nothing where the route has no reminders', async () => {
      await cards.create(cardRecord({ ts: null }));
      expect(await trackNudges(deps, ref)).toBe('none');
      await cards.delete(4711);
      const staging = waitingDeployment({ environment: { ...waitingDeployment().environment, name: 'staging' } });
      await cards.create(cardRecord({ snapshot: staging }));
      expect(await trackNudges(deps, ref)).toBe('none');
      expect(store.states.size).toBe(0);
    });
  });

  describe('sendDueNudge', () => {
    it(
      'reminds in the thread, mentioning the linked people who ' +
        'can still approve (never the creator) and how long it waited',
      async () => {
        await tracked();
        expect(await fire()).toMatchObject({
          kind: 'sent',
          nudge: 'reminder',
          next: { kind: 'reminder', at: created + 30 * M + H },
        });
        const [post] = chat.of('reminder');
        expect(post!.card).toEqual({ channel: 'C0DEFAULT', ts: '1759312345.000200' });
        expect(post!.message).toMatchObject({
          id: { deploymentId: 4711, seq: 0 },
          what: 'acme/web → production',
          waitedMs: 30 * M,
          number: 1,
          max: 2,
          asks: [{ rule: 'Maintainers', missing: 1, mentions: ['U0456ALICE', 'U0321CAROL'], unlinked: 0 }],
          snoozeMs: H,
        });
        expect(queue.syncs.at(-1)).toMatchObject({ deploymentId: 4711, reason: 'reminder sent' });
        expect([...timer.armed.values()]).toEqual([{ deploymentId: 4711, seq: 1, at: created + 30 * M + H }]);
      },
    );

    it('names the rule when nobody who can approve is linked to Slack', async () => {
      identity.links.clear();
      await tracked();
      await fire();
      expect(chat.of('reminder')[0]!.message.asks).toEqual([
        { rule: 'Maintainers', missing: 1, mentions: [], unlinked: 2 },
      ]);
    });

    it('still reminds, naming the rule, when GitLab will not say who is in it', async () => {
      membership.failWith = new GreenlightError('gitlab_forbidden', 'members: 403');
      await tracked();
      expect(await fire()).toMatchObject({ kind: 'sent', nudge: 'reminder' });
      expect(chat.of('reminder')[0]!.message.asks).toEqual([
        { rule: 'Maintainers', missing: 1, mentions: [], unlinked: 0 },
      ]);
    });

    it('only asks rules that still need approvals, without the people who already decided', async () => {
      const two = waitingDeployment({
        rules: [rule({ name: 'Maintainers', required: 2 }), rule({ id: 2, name: 'QA', required: 1 })],
        pendingApprovalCount: 3,
      });
      const partly = approvedBy(two, alice);
      membership.members.set('QA', [carol]);
      gitlab.put(partly);
      await cards.create(cardRecord({ snapshot: partly }));
      await trackNudges(deps, ref);
      await fire();
      expect(chat.of('reminder')[0]!.message.asks).toEqual([
        { rule: 'Maintainers', missing: 1, mentions: ['U0321CAROL'], unlinked: 0 },
        { rule: 'QA', missing: 1, mentions: ['U0321CAROL'], unlinked: 0 },
      ]);
    });

    it('escalates in the level channel with its mentions and a link to the card, then stops', async () => {
      await tracked();
      await fire();
      await fire();
      expect(await fire()).toMatchObject({ kind: 'sent', nudge: 'escalation', next: null });
      const [esc] = chat.of('escalation');
      expect(esc!.channel).toBe('C0ONCALL');
      expect(esc!.message).toMatchObject({
        level: 1,
        levels: 1,
        mention: ['<!subteam^S0ONCALL>'],
        cardUrl: 'https://acme.slack.com/archives/C0DEFAULT/p1759312345000200',
        waitedMs: 2 * H,
      });
      expect(chat.of('reminder')).toHaveLength(2);
      expect(timer.armed.size).toBe(0);
      expect((await store.get(4711))?.due).toBeNull();
    });

    it('does nothing when GitLab says the deployment no longer waits, and drops the schedule', async () => {
      await tracked();
      gitlab.put(approvedBy(waitingDeployment(), alice));
      expect(await fire()).toEqual({ kind: 'resolved', state: 'approved' });
      expect(chat.posts).toHaveLength(0);
      expect(store.states.size).toBe(0);
      expect(queue.syncs.at(-1)?.reason).toBe('a reminder found the deployment resolved');
    });

    it(
      'an outdated timer sends nothing (and re-arms the ' + 'current one); a cancelled schedule sends nothing',
      async () => {
        await tracked();
        const old = timer.take(4711);
        await snoozeNudges(deps, { ref, slackUserId: 'U0456ALICE', requestedAt: clock.now() });
        timer.armed.clear();
        expect(await sendDueNudge(deps, { ref, seq: old.seq })).toEqual({ kind: 'stale' });
        expect([...timer.armed.values()].map((t) => t.seq)).toEqual([1]);
        await store.delete(4711);
        expect(await sendDueNudge(deps, { ref, seq: 1 })).toEqual({ kind: 'cancelled' });
        expect(chat.of('reminder')).toHaveLength(0);
      },
    );

    it('a timer that fires early is re-armed for the planned time', async () => {
      await tracked();
      timer.take(4711);
      expect(await sendDueNudge(deps, { ref, seq: 0 })).toEqual({ kind: 'rescheduled', at: created + 30 * M });
      expect([...timer.armed.values()]).toEqual([{ deploymentId: 4711, seq: 1, at: created + 30 * M }]);
      expect(chat.posts).toHaveLength(0);
    });

    it('never posts twice: an unconfirmed post found in Slack is recorded, not repeated', async () => {
      await tracked();
      const t = timer.take(4711);
      clock.ms = t.at;
      chat.failNextPostWith = new GreenlightError('slack_unavailable', 'timeout after posting');
      // the post "went out" before the connection dropped
      chat.inSlack.add('4711:0');
      await expect(sendDueNudge(deps, { ref, seq: 0 })).rejects.toThrow('timeout after posting');
      expect((await store.get(4711))?.posting).toEqual({ seq: 0, at: t.at });
      expect(await sendDueNudge(deps, { ref, seq: 0 })).toMatchObject({ kind: 'sent', nudge: 'reminder' });
      expect(chat.lookups).toEqual([
        { where: { channel: 'C0DEFAULT', threadTs: '1759312345.000200' }, id: { deploymentId: 4711, seq: 0 } },
      ]);
      expect(chat.of('reminder')).toHaveLength(0);
      expect(logs.lines.some((l) => l.msg === 'found an unconfirmed reminder in Slack; not posting it again')).toBe(
        true,
      );
    });

    it('posts again when the unconfirmed post is not in Slack; a paced post needs no look-up', async () => {
      await tracked();
      const t = timer.take(4711);
      clock.ms = t.at;
      chat.failNextPostWith = new GreenlightError('slack_rate_limited', 'paced', { retryAfterMs: 5_000 });
      await expect(sendDueNudge(deps, { ref, seq: 0 })).rejects.toMatchObject({
        code: 'slack_rate_limited',
        retryAfterMs: 5_000,
      });
      expect((await store.get(4711))?.posting).toBeNull();
      chat.failNextPostWith = new GreenlightError('slack_unavailable', 'connection reset');
      await expect(sendDueNudge(deps, { ref, seq: 0 })).rejects.toThrow('connection reset');
      expect(await sendDueNudge(deps, { ref, seq: 0 })).toMatchObject({ kind: 'sent' });
      expect(chat.lookups).toHaveLength(1);
      expect(chat.of('reminder')).toHaveLength(1);
    });

    it('skips a nudge Slack refuses for good (and one whose retries ran out), and plans the next', async () => {
      await tracked();
      await fire();
      await fire();
      chat.failNextPostWith = new GreenlightError('slack_refused', 'channel_not_found', {
        detail: 'channel_not_found',
      });
      expect(await fire()).toEqual({ kind: 'skipped', nudge: 'escalation', reason: 'channel_not_found' });
      expect(logs.lines.some((l) => l.level === 'error' && l.msg === 'reminder could not be posted; skipped')).toBe(
        true,
      );

      await store.delete(4711);
      await trackNudges(deps, ref);
      expect(await fire({ giveUp: true })).toEqual({ kind: 'skipped', nudge: 'reminder', reason: 'retries exhausted' });
      expect((await store.get(4711))?.remindersSent).toBe(1);
      expect(chat.of('reminder')).toHaveLength(2);
    });
  });

  describe('snoozeNudges', () => {
    it(
      'delays the next nudge by an hour from the click, ' + 'notes who snoozed in the thread, and re-arms the timer',
      async () => {
        await tracked();
        const click = created + 25 * M;
        clock.ms = click;
        const outcome = await snoozeNudges(deps, { ref, slackUserId: 'U0456ALICE', requestedAt: click });
        expect(outcome).toEqual({ kind: 'snoozed', until: click + H, next: { at: click + H, kind: 'reminder' } });
        expect(chat.of('snooze')).toEqual([
          {
            kind: 'snooze',
            card: { channel: 'C0DEFAULT', ts: '1759312345.000200' },
            note: { by: 'U0456ALICE', until: click + H, next: { at: click + H, kind: 'reminder' } },
          },
        ]);
        expect(timer.cancelled).toEqual(['nudge-4711-0']);
        expect([...timer.armed.values()]).toEqual([{ deploymentId: 4711, seq: 1, at: click + H }]);
        expect(queue.syncs.at(-1)?.reason).toBe('reminders snoozed');
      },
    );

    it('has nothing to snooze once the deployment stopped waiting', async () => {
      await cards.create(cardRecord({ state: 'rejected' }));
      expect(await snoozeNudges(deps, { ref, slackUserId: 'U0456ALICE', requestedAt: clock.now() })).toEqual({
        kind: 'not-waiting',
      });
      expect(chat.posts).toHaveLength(0);
    });
  });

  describe('the card', () => {
    it('shows when the next reminder or escalation is due, and nothing once resolved', async () => {
      const slack = new FakeChat();
      const sync = {
        gitlab,
        cards,
        chat: slack,
        identity,
        policy,
        clock,
        logger: logs,
        nudges: {
          nextNudge: (d: Parameters<typeof nextNudgeFor>[1], r: Parameters<typeof nextNudgeFor>[2]) =>
            nextNudgeFor({ nudges: store, clock }, d, r),
        },
      };
      gitlab.put(waitingDeployment());
      await syncCard(sync, ref);
      expect(slack.posts[0]!.card).toMatchObject({ nextNudgeAt: created + 30 * M });
      expect(slack.posts[0]!.card.nextNudgeKind).toBeUndefined();
      await trackNudges(deps, ref);
      await fire();
      await fire();
      await syncCard(sync, ref);
      expect(slack.lastCard()).toMatchObject({ nextNudgeAt: created + 2 * H, nextNudgeKind: 'escalation' });
      gitlab.put(approvedBy(waitingDeployment(), alice));
      await syncCard(sync, ref);
      expect(slack.lastCard()).toMatchObject({ state: 'approved', nextNudgeAt: null });
    });
  });
});
