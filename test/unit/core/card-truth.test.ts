import { beforeEach, describe, expect, it } from 'vitest';
import { describeOpenRules, MAX_PEOPLE_LOOKED_UP } from '../../../src/core/cards/open-rules.ts';
import type { Person } from '../../../src/core/cards/card-model.ts';
import { syncCard, type SyncCardDeps } from '../../../src/core/cards/sync-card.ts';
import type { Deployment, GitLabUser } from '../../../src/core/deployments/deployment.ts';
import type { Policy } from '../../../src/core/policy.ts';
import {
  CapturingLogger,
  FakeCardStore,
  FakeChat,
  FakeClock,
  FakeGitLabReader,
  FakeIdentity,
  FakeLatestDeployments,
  FakeMembership,
  FakeQueue,
} from '../../fakes/in-memory.ts';
import { alice, approval, approvedBy, bob, carol, rule, waitingDeployment } from '../../fixtures/deployments.ts';

const fourEyesOff = { fourEyes: { forbidCommitAuthor: false } };

const dave: GitLabUser = { id: 14, username: 'dave', name: 'Dave Ops' };
const policy: Policy = {
  defaults: { channel: 'C0DEFAULT', reminders: null, escalation: [], workingHours: null, runAfterApproval: 'button' },
  routes: [{ match: { environment: 'sandbox' }, overrides: { runAfterApproval: 'off' } }],
  projects: [],
  groups: [],
  sweepEveryMs: 300_000,
  sweepListEveryMs: 3_600_000,
  sweepClassifyEveryMs: 86_400_000,
  fourEyes: { forbidCommitAuthor: false },
  users: [],
};
const maintainers = rule({ id: 1, name: 'Maintainers', required: 1 });
const qa = rule({ id: 2, name: 'qa-group', accessLevel: null, groupId: 9, required: 2 });
const twoRules = (over: Partial<Deployment> = {}) =>
  waitingDeployment({ pendingApprovalCount: 3, rules: [maintainers, qa], ...over });

describe('who can still approve', () => {
  let membership: FakeMembership;
  let identity: FakeIdentity;
  let logger: CapturingLogger;
  const people =
    (identity: FakeIdentity) =>
    async (u: GitLabUser): Promise<Person> => ({
      name: u.name,
      username: u.username,
      slackUserId: await identity.slackUserFor(u),
    });

  beforeEach(() => {
    membership = new FakeMembership().set('Maintainers', [alice, bob, carol]).set('qa-group', [carol, dave]);
    identity = new FakeIdentity();
    identity.link('U0ALICE', alice);
    identity.link('U0CAROL', carol);
    logger = new CapturingLogger();
  });

  it('lists each open rule with the people who could still approve: never the creator, never who decided', async () => {
    const d = twoRules({ rules: [maintainers, { ...qa, approvals: [approval(carol)] }], approvals: [approval(carol)] });
    const open = await describeOpenRules({ membership, policy: fourEyesOff, people: people(identity), logger }, d);
    expect(open).toEqual([
      {
        name: 'Maintainers',
        missing: 1,
        people: [{ name: alice.name, username: 'alice', slackUserId: 'U0ALICE' }],
        more: 0,
        known: true,
      },
      {
        name: 'qa-group',
        missing: 1,
        people: [{ name: dave.name, username: 'dave', slackUserId: null }],
        more: 0,
        known: true,
      },
    ]);
  });

  it('looks up a handful of people, not a whole group, and counts the rest', async () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ id: 100 + i, username: `u${i}`, name: `User ${i}` }));
    membership.set('qa-group', many);
    let lookups = 0;
    const counting = async (u: GitLabUser): Promise<Person> => {
      lookups += 1;
      return { name: u.name, username: u.username, slackUserId: null };
    };
    const [, qaOpen] = await describeOpenRules(
      { membership, policy: fourEyesOff, people: counting, logger },
      twoRules(),
    );
    expect(lookups).toBe(MAX_PEOPLE_LOOKED_UP);
    expect(qaOpen).toMatchObject({ missing: 2, more: 30 - (MAX_PEOPLE_LOOKED_UP - 2) });
  });

  it('still shows what is missing when a rule cannot be read, and says so in the log', async () => {
    membership.failing.add('qa-group');
    const open = await describeOpenRules(
      { membership, policy: fourEyesOff, people: people(identity), logger },
      twoRules(),
    );
    expect(open.map((o) => [o.name, o.known, o.people.length])).toEqual([
      ['Maintainers', true, 2],
      ['qa-group', false, 0],
    ]);
    expect(logger.lines.find((l) => l.msg === 'could not read who can approve a rule')).toMatchObject({
      level: 'warn',
      rule: 'qa-group',
    });
    expect(
      (await describeOpenRules({ policy: fourEyesOff, people: people(identity), logger }, twoRules())).every(
        (o) => !o.known,
      ),
    ).toBe(true);
  });
});

describe('syncCard: cards that tell the whole truth', () => {
  let gitlab: FakeGitLabReader;
  let cards: FakeCardStore;
  let chat: FakeChat;
  let identity: FakeIdentity;
  let membership: FakeMembership;
  let latest: FakeLatestDeployments;
  let queue: FakeQueue;
  let deps: SyncCardDeps;
  const older = { projectId: 42, deploymentId: 4711 };
  const newer = { projectId: 42, deploymentId: 4800 };
  const newerDeployment = () =>
    waitingDeployment({
      id: 4800,
      iid: 13,
      job: {
        id: 800,
        name: 'deploy-prod',
        status: 'manual',
        webUrl: 'https://gitlab.example.com/acme/web/-/jobs/800',
        failureReason: null,
        user: bob,
      },
    });

  beforeEach(() => {
    gitlab = new FakeGitLabReader();
    cards = new FakeCardStore();
    chat = new FakeChat();
    identity = new FakeIdentity();
    identity.link('U0ALICE', alice);
    identity.link('U0CAROL', carol);
    membership = new FakeMembership().set('Maintainers', [alice, bob, carol]).set('qa-group', [carol, dave]);
    latest = new FakeLatestDeployments();
    queue = new FakeQueue();
    deps = {
      gitlab,
      cards,
      chat,
      identity,
      policy,
      clock: new FakeClock(),
      logger: new CapturingLogger(),
      membership,
      supersede: { latest, queue },
    };
  });

  it('puts who can still approve on the card and, for clicks, in the record', async () => {
    gitlab.put(twoRules());
    await syncCard(deps, older);
    expect(chat.posts[0]!.card.openRules.map((o) => [o.name, o.missing, o.people.map((p) => p.slackUserId)])).toEqual([
      ['Maintainers', 1, ['U0ALICE', 'U0CAROL']],
      ['qa-group', 2, ['U0CAROL', null]],
    ]);
    expect((await cards.get(4711))!.openRules).toEqual([
      { name: 'Maintainers', slackUserIds: ['U0ALICE', 'U0CAROL'] },
      { name: 'qa-group', slackUserIds: ['U0CAROL'] },
    ]);

    gitlab.put(approvedBy(twoRules(), alice));
    await syncCard(deps, older);
    expect((await cards.get(4711))!.openRules).toEqual([{ name: 'qa-group', slackUserIds: ['U0CAROL'] }]);
    expect(chat.lastCard()!.rules.map((r) => `${r.name} ${r.approved}/${r.required}`)).toEqual([
      'Maintainers 1/1',
      'qa-group 0/2',
    ]);
  });

  it('counts rules from group-level protected environments like the others', async () => {
    // approval_summary mixes project and group rules without saying which is which; all must be met.
    const groupRule = rule({ id: 7, name: 'release-managers', accessLevel: null, groupId: 3, required: 1 });
    const d = waitingDeployment({
      pendingApprovalCount: 1,
      rules: [{ ...maintainers, approvals: [approval(alice)] }, groupRule],
      approvals: [approval(alice)],
    });
    gitlab.put(d);
    await syncCard(deps, older);
    expect(chat.lastCard()).toMatchObject({
      state: 'waiting',
      totals: { approved: 1, required: 2 },
      buttons: { approve: true },
    });
    gitlab.put({ ...d, pendingApprovalCount: 0, rules: [d.rules[0]!, { ...groupRule, approvals: [approval(carol)] }] });
    expect(await syncCard(deps, older)).toMatchObject({ kind: 'updated', state: 'approved' });
  });

  it(
    'supersedes a waiting card when a newer deployment ' + 'to the same environment is synced, and links to it',
    async () => {
      gitlab.put(waitingDeployment());
      await syncCard(deps, older);
      gitlab.put(newerDeployment());
      expect(await syncCard(deps, newer)).toMatchObject({ kind: 'posted' });
      expect(queue.syncs).toEqual([{ ...older, reason: 'newer deployment 4800' }]);

      expect(await syncCard(deps, older)).toMatchObject({ kind: 'updated', state: 'superseded' });
      const card = chat.lastCard()!;
      expect(card).toMatchObject({
        deploymentId: 4711,
        state: 'superseded',
        buttons: { approve: false, reject: false, run: false },
      });
      expect(card.outcome?.supersededBy).toEqual({ id: 4800, url: 'https://gitlab.example.com/acme/web/-/jobs/800' });
      expect((await cards.get(4711))!.state).toBe('superseded');

      // Idempotent: syncing either again changes nothing and asks for nothing more.
      const updates = chat.updates.length;
      expect(await syncCard(deps, older)).toMatchObject({ kind: 'unchanged', state: 'superseded' });
      await syncCard(deps, newer);
      expect(chat.updates).toHaveLength(updates);
      expect(queue.syncs).toHaveLength(1);
    },
  );

  it('never posts a card for a deployment that a newer one already superseded (events out of order)', async () => {
    gitlab.put(newerDeployment());
    await syncCard(deps, newer);
    gitlab.put(waitingDeployment());
    expect(await syncCard(deps, older)).toEqual({ kind: 'ignored', state: 'superseded' });
    expect(chat.posts.map((p) => p.card.deploymentId)).toEqual([4800]);
  });

  it('supersedes a card that waits to be run, but not one already running, nor other environments', async () => {
    gitlab.put(waitingDeployment());
    await syncCard(deps, older);
    gitlab.put(approvedBy(waitingDeployment(), alice));
    await syncCard(deps, older);
    gitlab.put(newerDeployment());
    await syncCard(deps, newer);
    expect(await syncCard(deps, older)).toMatchObject({ state: 'superseded' });

    const staging = {
      id: 4900,
      environment: { id: 8, name: 'staging', tier: 'staging', externalUrl: null, webUrl: 'https://x/env/8' },
    };
    gitlab.put(waitingDeployment({ ...staging, status: 'running' }));
    expect(await syncCard(deps, { projectId: 42, deploymentId: 4900 })).toEqual({ kind: 'ignored', state: 'running' });
    gitlab.put(waitingDeployment({ id: 4901, environment: staging.environment }));
    await syncCard(deps, { projectId: 42, deploymentId: 4901 });
    expect(await syncCard(deps, { projectId: 42, deploymentId: 4900 })).toEqual({ kind: 'ignored', state: 'running' });
  });

  it('ignores a read with fewer approvals than the card shows (an older read arriving late)', async () => {
    const d = twoRules();
    gitlab.put(d);
    await syncCard(deps, older);
    gitlab.put(approvedBy(approvedBy(d, alice), carol));
    await syncCard(deps, older);
    const updates = chat.updates.length;
    gitlab.put(approvedBy(d, alice));
    expect(await syncCard(deps, older)).toEqual({ kind: 'stale', state: 'waiting', current: 'waiting' });
    expect(chat.updates).toHaveLength(updates);
  });

  it('offers Run deployment after approval unless run_after_approval is off', async () => {
    gitlab.put(waitingDeployment());
    await syncCard(deps, older);
    gitlab.put(approvedBy(waitingDeployment(), alice));
    await syncCard(deps, older);
    expect(chat.lastCard()!.buttons).toEqual({ approve: false, reject: false, run: true });

    const sandbox = {
      id: 5000,
      environment: { id: 9, name: 'sandbox', tier: 'other', externalUrl: null, webUrl: 'https://x/env/9' },
    };
    gitlab.put(waitingDeployment(sandbox));
    await syncCard(deps, { projectId: 42, deploymentId: 5000 });
    gitlab.put(approvedBy(waitingDeployment(sandbox), alice));
    expect(await syncCard(deps, { projectId: 42, deploymentId: 5000 })).toMatchObject({ state: 'approved' });
    expect(chat.lastCard()!.buttons).toEqual({ approve: false, reject: false, run: false });
  });
});
