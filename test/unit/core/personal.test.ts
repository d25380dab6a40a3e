import { describe, expect, it } from 'vitest';
import { buildHome, HOME_ROWS } from '../../../src/core/personal/build-home.ts';
import { notifyApprovers } from '../../../src/core/personal/notify-approvers.ts';
import { GreenlightError } from '../../../src/core/errors.ts';
import type { CardRecord } from '../../../src/core/ports.ts';
import { alice, approvedBy, bob, carol, rejectedBy, waitingDeployment } from '../../fixtures/deployments.ts';
import { CapturingLogger, FakeCardStore, FakeClock, FakeIdentity, FakeVisibility } from '../../fakes/in-memory.ts';
import {
  FakeMembership,
  FakePendingIndex,
  FakePersonalChat,
  FakePersonalStore,
  openCard,
} from '../../fakes/in-memory-personal.ts';

const fourEyesOff = { fourEyes: { forbidCommitAuthor: false } };

const T = 'T1';
const u = (userId: string) => ({ teamId: T, userId });

function world() {
  const membership = new FakeMembership();
  const visibility = new FakeVisibility();
  membership.projectMembers.set(42, [
    { ...alice, level: 40 },
    { ...bob, level: 40 },
    { ...carol, level: 30 },
  ]);
  const identity = new FakeIdentity();
  identity.link('U0ALICE', alice);
  identity.link('U0BOB', bob);
  identity.link('U0CAROL', carol);
  const store = new FakePersonalStore();
  const chat = new FakePersonalChat();
  const cards = new FakeCardStore();
  const index = new FakePendingIndex();
  const logger = new CapturingLogger();
  const clock = new FakeClock();
  const put = async (record: CardRecord) => {
    cards.records.set(record.deploymentId, structuredClone(record));
    index.put(record);
  };
  const notify = (deploymentId: number) =>
    notifyApprovers(
      { cards, store, chat, identity, membership, policy: fourEyesOff, visibility, logger },
      deploymentId,
    );
  const home = (
    userId: string,
    opts: { linkTarget?: (user: { userId: string }) => Promise<string | null>; linkHint?: 'oauth' | 'sudo' } = {},
  ) =>
    buildHome(
      {
        index,
        identity: { resolve: (user) => identity.resolve(user), linkHint: opts.linkHint ?? identity.linkHint },
        membership,
        policy: fourEyesOff,
        visibility,
        store,
        clock,
        logger,
        command: '/deploys',
        ...(opts.linkTarget && { linkTarget: opts.linkTarget }),
      },
      u(userId),
    );
  return { membership, identity, store, chat, cards, index, logger, clock, put, notify, home };
}

describe('approver DMs', () => {
  it(
    'DMs people who turned DMs on and can approve; never ' + 'the creator, a non-member or someone who did not ask',
    async () => {
      const w = world();
      for (const id of ['U0ALICE', 'U0BOB', 'U0CAROL', 'U0STRANGER']) await w.store.setDmEnabled(u(id), true);
      await w.put(openCard(waitingDeployment()));
      expect(await w.notify(4711)).toEqual({ sent: 1, updated: 0 });
      expect(w.chat.sent.map((s) => s.userId)).toEqual(['U0ALICE']);
      expect(w.chat.sent[0]!.dm).toMatchObject({
        canAct: true,
        state: 'waiting',
        headline: 'Waiting for your approval.',
        row: { deploymentId: 4711 },
      });
      expect((await w.store.dms(4711)).map((d) => d.ref?.channel)).toEqual(['D0ALICE']);
    },
  );

  it('sends once per person and deployment however often it runs', async () => {
    const w = world();
    await w.store.setDmEnabled(u('U0ALICE'), true);
    await w.put(openCard(waitingDeployment()));
    await w.notify(4711);
    await w.notify(4711);
    expect(w.chat.sent).toHaveLength(1);
    expect(w.chat.updated).toHaveLength(0);
  });

  it('updates the DM like a card when the deployment changes, and only then', async () => {
    const w = world();
    await w.store.setDmEnabled(u('U0ALICE'), true);
    const d = waitingDeployment();
    await w.put(openCard(d));
    await w.notify(4711);
    await w.put(openCard(approvedBy(d, alice), { state: 'approved', version: 2 }));
    expect(await w.notify(4711)).toEqual({ sent: 0, updated: 1 });
    expect(w.chat.updated[0]).toMatchObject({
      ref: { channel: 'D0ALICE', ts: w.chat.sent[0]!.ref.ts },
      dm: { state: 'approved', canAct: false },
    });
    await w.notify(4711);
    expect(w.chat.updated).toHaveLength(1);
    await w.put(openCard(rejectedBy(d, carol, 'no'), { state: 'rejected', version: 3 }));
    await w.notify(4711);
    expect(w.chat.updated.at(-1)!.dm).toMatchObject({
      state: 'rejected',
      canAct: false,
      headline: 'Rejected by @carol.',
    });
  });

  it('drops the buttons in the DM of someone who has decided while others still have to', async () => {
    const w = world();
    await w.store.setDmEnabled(u('U0ALICE'), true);
    const d = waitingDeployment({
      pendingApprovalCount: 2,
      rules: [{ ...waitingDeployment().rules[0]!, required: 2 }],
    });
    await w.put(openCard(d));
    await w.notify(4711);
    await w.put(openCard(approvedBy(d, alice), { version: 2 }));
    await w.notify(4711);
    expect(w.chat.updated[0]!.dm).toMatchObject({
      state: 'waiting',
      canAct: false,
      headline: 'You approved it; it still waits for others.',
    });
  });

  it('sends nothing new once the deployment no longer waits', async () => {
    const w = world();
    await w.store.setDmEnabled(u('U0ALICE'), true);
    await w.put(openCard(approvedBy(waitingDeployment(), carol), { state: 'approved' }));
    expect(await w.notify(4711)).toEqual({ sent: 0, updated: 0 });
  });

  it(
    'gives the claim back when Slack says no, goes on with ' +
      'the others, and fails afterwards only for retryable errors',
    async () => {
      const w = world();
      w.membership.projectMembers.set(42, [
        { ...alice, level: 40 },
        { ...carol, level: 40 },
      ]);
      await w.store.setDmEnabled(u('U0ALICE'), true);
      await w.store.setDmEnabled(u('U0CAROL'), true);
      await w.put(openCard(waitingDeployment()));
      w.chat.failSendFor.set(
        'U0ALICE',
        new GreenlightError('slack_refused', 'Slack refused chat.postMessage: user_not_found', {
          detail: 'user_not_found',
        }),
      );
      expect(await w.notify(4711)).toEqual({ sent: 1, updated: 0 });
      expect((await w.store.dms(4711)).map((d) => d.user.userId)).toEqual(['U0CAROL']);

      w.chat.failSendFor.set(
        'U0ALICE',
        new GreenlightError('slack_rate_limited', 'Slack rate-limited', { retryAfterMs: 3000 }),
      );
      await expect(w.notify(4711)).rejects.toMatchObject({ code: 'slack_rate_limited' });
      w.chat.failSendFor.clear();
      expect(await w.notify(4711)).toEqual({ sent: 1, updated: 0 });
      expect(w.chat.sent.map((s) => s.userId)).toEqual(['U0CAROL', 'U0ALICE']);
    },
  );

  it('never posts twice when an earlier post may have gone out (claimed, not confirmed)', async () => {
    const w = world();
    await w.store.setDmEnabled(u('U0ALICE'), true);
    await w.put(openCard(waitingDeployment()));
    w.chat.failSendFor.set('U0ALICE', new GreenlightError('slack_unavailable', 'Slack could not be reached'));
    await expect(w.notify(4711)).rejects.toMatchObject({ code: 'slack_unavailable' });
    w.chat.failSendFor.clear();
    expect(await w.notify(4711)).toEqual({ sent: 0, updated: 0 });
  });
});

describe('the Home tab model', () => {
  it('shows what waits for the person, everything that waits, the link and the DM setting', async () => {
    const w = world();
    await w.put(openCard(waitingDeployment()));
    await w.put(openCard(waitingDeployment({ id: 4712, creator: alice, createdAt: '2026-11-23T09:55:00.000Z' })));
    await w.store.setDmEnabled(u('U0ALICE'), true);
    const home = await w.home('U0ALICE');
    expect(home).toMatchObject({
      linkMode: 'sudo',
      link: { kind: 'linked', username: 'alice', via: 'policy' },
      linkUrl: null,
      dmEnabled: true,
      command: '/deploys',
      now: w.clock.now(),
    });
    expect(home.forYou).toMatchObject({ total: 1, unchecked: 0 });
    expect(home.forYou!.rows.map((r) => r.deploymentId)).toEqual([4711]);
    expect(home.all.rows.map((r) => r.deploymentId)).toEqual([4712, 4711]);
    expect((await w.home('U0CAROL')).forYou!.total).toBe(0);
  });

  it('has no "for you" part for someone greenlight does not know, and offers the link in oauth mode', async () => {
    const w = world();
    await w.put(openCard(waitingDeployment()));
    const sudo = await w.home('U0NOBODY');
    expect(sudo).toMatchObject({ link: { kind: 'unlinked' }, forYou: null, linkUrl: null, all: { total: 1 } });
    const linkTarget = async (user: { userId: string }) =>
      `https://greenlight.example.com/oauth/gitlab/start?u=${user.userId}`;
    const withLink = await w.home('U0NOBODY', { linkHint: 'oauth', linkTarget });
    expect(withLink).toMatchObject({
      linkMode: 'oauth',
      linkUrl: 'https://greenlight.example.com/oauth/gitlab/start?u=U0NOBODY',
    });
    // linked people get no link button, and sudo mode has no link flow
    expect((await w.home('U0ALICE', { linkHint: 'oauth', linkTarget })).linkUrl).toBeNull();
    expect((await w.home('U0NOBODY', { linkTarget })).linkUrl).toBeNull();
  });

  it('keeps each section within its row budget', async () => {
    const w = world();
    for (let i = 0; i < 30; i++)
      await w.put(
        openCard(
          waitingDeployment({
            id: 5000 + i,
            createdAt: new Date(Date.parse('2026-11-23T08:00:00Z') + i * 1000).toISOString(),
          }),
        ),
      );
    const home = await w.home('U0ALICE');
    expect(home.forYou).toMatchObject({ total: 30 });
    expect(home.forYou!.rows).toHaveLength(HOME_ROWS.forYou);
    expect(home.all.rows).toHaveLength(HOME_ROWS.all);
    expect(home.all.rows[0]!.deploymentId).toBe(5029);
  });
});
