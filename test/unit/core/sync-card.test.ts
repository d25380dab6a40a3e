import { describe, expect, it, beforeEach } from 'vitest';
import { syncCard, type SyncCardDeps } from '../../../src/core/cards/sync-card.ts';
import { GreenlightError } from '../../../src/core/errors.ts';
import type { Policy } from '../../../src/core/policy.ts';
import {
  CapturingLogger,
  FakeCardStore,
  FakeChat,
  FakeClock,
  FakeGitLabReader,
  FakeIdentity,
} from '../../fakes/in-memory.ts';
import { alice, approvedBy, bob, rejectedBy, rule, waitingDeployment } from '../../fixtures/deployments.ts';

const policy: Policy = {
  defaults: { channel: 'C0DEFAULT', reminders: null, escalation: [], workingHours: null, runAfterApproval: 'button' },
  routes: [{ match: { project: 'acme/payments/*', environment: 'prod*' }, overrides: { channel: 'C0PAYMENTS' } }],
  projects: [],
  groups: [],
  sweepEveryMs: 300_000,
  sweepListEveryMs: 3_600_000,
  sweepClassifyEveryMs: 86_400_000,
  fourEyes: { forbidCommitAuthor: false },
  users: [],
};

describe('syncCard', () => {
  let gitlab: FakeGitLabReader;
  let cards: FakeCardStore;
  let chat: FakeChat;
  let identity: FakeIdentity;
  let clock: FakeClock;
  let deps: SyncCardDeps;
  const ref = { projectId: 42, deploymentId: 4711 };

  beforeEach(() => {
    gitlab = new FakeGitLabReader();
    cards = new FakeCardStore();
    chat = new FakeChat();
    identity = new FakeIdentity();
    clock = new FakeClock();
    deps = { gitlab, cards, chat, identity, policy, clock, logger: new CapturingLogger() };
  });

  it('posts one card for a deployment waiting for approval, in the default channel', async () => {
    gitlab.put(waitingDeployment());
    const outcome = await syncCard(deps, ref);
    expect(outcome).toMatchObject({ kind: 'posted', channel: 'C0DEFAULT' });
    expect(chat.posts).toHaveLength(1);
    const card = chat.posts[0]!.card;
    expect(card).toMatchObject({
      state: 'waiting',
      totals: { approved: 0, required: 1 },
      buttons: { approve: true, reject: true, run: false },
    });
    expect((await cards.get(4711))?.ts).toBe(chat.posts[0]!.ts);
  });

  it('never posts a second card, however often it runs', async () => {
    gitlab.put(waitingDeployment());
    await syncCard(deps, ref);
    const again = await syncCard(deps, ref);
    expect(again.kind).toBe('unchanged');
    expect(chat.posts).toHaveLength(1);
    expect(chat.updates).toHaveLength(0);
  });

  it('ignores plain manual jobs: blocked without approval rules', async () => {
    gitlab.put(waitingDeployment({ pendingApprovalCount: 0, rules: [] }));
    expect(await syncCard(deps, ref)).toEqual({ kind: 'ignored', state: null });
    expect(chat.posts).toHaveLength(0);
  });

  it('routes to the first matching policy route', async () => {
    const d = waitingDeployment({
      project: { id: 42, path: 'acme/payments/api', name: 'api', webUrl: 'https://x/acme/payments/api' },
    });
    gitlab.put(d);
    await syncCard(deps, ref);
    expect(chat.posts[0]!.channel).toBe('C0PAYMENTS');
  });

  it('shows approvals as they come, then the approved state without Approve/Reject, and offers Run', async () => {
    const twoRules = waitingDeployment({
      pendingApprovalCount: 2,
      rules: [rule({ required: 1 }), rule({ id: 2, name: 'QA', required: 1, accessLevel: null, groupId: 9 })],
    });
    gitlab.put(twoRules);
    await syncCard(deps, ref);
    const partly = approvedBy(twoRules, alice, 'LGTM');
    gitlab.put(partly);
    expect(await syncCard(deps, ref)).toMatchObject({ kind: 'updated', state: 'waiting', version: 2 });
    expect(chat.lastCard()).toMatchObject({ totals: { approved: 1, required: 2 }, buttons: { approve: true } });
    expect(chat.lastCard()!.rules[0]!.approvals[0]).toMatchObject({ comment: 'LGTM', person: { username: 'alice' } });

    const full = { ...partly, pendingApprovalCount: 0 };
    gitlab.put(full);
    expect(await syncCard(deps, ref)).toMatchObject({ kind: 'updated', state: 'approved', version: 3 });
    expect(chat.lastCard()!.buttons).toEqual({ approve: false, reject: false, run: true });
  });

  it('shows a rejection with who and why, and drops the buttons', async () => {
    gitlab.put(waitingDeployment());
    await syncCard(deps, ref);
    gitlab.put(rejectedBy(waitingDeployment(), alice, 'Smoke tests fail'));
    expect(await syncCard(deps, ref)).toMatchObject({ kind: 'updated', state: 'rejected' });
    const card = chat.lastCard()!;
    expect(card.buttons).toEqual({ approve: false, reject: false, run: false });
    expect(card.outcome).toMatchObject({ state: 'rejected', comment: 'Smoke tests fail', by: { username: 'alice' } });
  });

  it('never moves a card backwards when an older state is read after a newer one', async () => {
    gitlab.put(waitingDeployment());
    await syncCard(deps, ref);
    gitlab.put(waitingDeployment({ status: 'success', pendingApprovalCount: 0 }));
    await syncCard(deps, ref);
    gitlab.put(waitingDeployment());
    expect(await syncCard(deps, ref)).toEqual({ kind: 'stale', state: 'waiting', current: 'succeeded' });
    expect(chat.lastCard()!.state).toBe('succeeded');
  });

  it('does not post cards for deployments that are already resolved', async () => {
    gitlab.put(waitingDeployment({ status: 'success', pendingApprovalCount: 0 }));
    expect(await syncCard(deps, ref)).toEqual({ kind: 'ignored', state: 'succeeded' });
  });

  it('lets the next attempt post again when Slack refused the post', async () => {
    gitlab.put(waitingDeployment());
    chat.failPostWith = new GreenlightError('slack_refused', 'not_in_channel', { detail: 'not_in_channel' });
    await expect(syncCard(deps, ref)).rejects.toMatchObject({ code: 'slack_refused' });
    expect(await cards.get(4711)).toBeNull();
    chat.failPostWith = null;
    expect((await syncCard(deps, ref)).kind).toBe('posted');
  });

  it('adopts the posted card after a crash between posting and saving, instead of posting twice', async () => {
    gitlab.put(waitingDeployment());
    await syncCard(deps, ref);
    // simulate the crash: the record lost its ts
    const record = (await cards.get(4711))!;
    await cards.replace(record.version, { ...record, ts: null });
    clock.advance(60_000);
    gitlab.put(approvedBy(waitingDeployment({ pendingApprovalCount: 2, rules: [rule({ required: 2 })] }), alice));
    const outcome = await syncCard(deps, ref);
    expect(outcome.kind).toBe('updated');
    expect(chat.posts).toHaveLength(1);
    expect(chat.updates[0]!.ref.ts).toBe(chat.posts[0]!.ts);
  });

  it('mentions people in Slack when their account is known', async () => {
    identity.link('U0BOB', bob);
    gitlab.put(waitingDeployment());
    await syncCard(deps, ref);
    expect(chat.posts[0]!.card.triggeredBy).toEqual({ name: bob.name, username: 'bob', slackUserId: 'U0BOB' });
  });
});
