import { describe, expect, it } from 'vitest';
import { listPending, type PendingPage } from '../../../src/core/pending/list-pending.ts';
import { matchesTerms, parsePendingQuery, queryText } from '../../../src/core/pending/pending-query.ts';
import type { Deployment, GitLabUser } from '../../../src/core/deployments/deployment.ts';
import { alice, approval, bob, carol, rule, waitingDeployment } from '../../fixtures/deployments.ts';
import { CapturingLogger, FakeIdentity, FakeVisibility } from '../../fakes/in-memory.ts';
import { FakeMembership, FakePendingIndex, openCard } from '../../fakes/in-memory-personal.ts';

const fourEyesOff = { fourEyes: { forbidCommitAuthor: false } };

const dave: GitLabUser = { id: 14, username: 'dave', name: 'Dave Ops' };
const project = (id: number, path: string) => ({
  id,
  path,
  name: path.split('/').at(-1)!,
  webUrl: `https://gitlab.example.com/${path}`,
});
const environment = (id: number, name: string, tier: string | null) => ({
  id,
  name,
  tier,
  externalUrl: null,
  webUrl: `https://gitlab.example.com/env/${id}`,
});

/**
 * web → production by bob (09:00); payments → pre-release (tier staging)
 * by alice (09:30); site → production-eu by carol, 1 of 2 (alice), 09:45.
 */
const web = waitingDeployment({ id: 101, createdAt: '2026-11-23T09:00:00.000Z' });
const payments = waitingDeployment({
  id: 102,
  project: project(43, 'acme/payments/api'),
  environment: environment(8, 'pre-release', 'staging'),
  creator: alice,
  createdAt: '2026-11-23T09:30:00.000Z',
});
const site = waitingDeployment({
  id: 103,
  project: project(44, 'other/site'),
  environment: environment(9, 'production-eu', 'production'),
  creator: carol,
  createdAt: '2026-11-23T09:45:00.000Z',
  pendingApprovalCount: 1,
  rules: [rule({ required: 2, approvals: [approval(alice)] })],
  approvals: [approval(alice)],
});
const approvedAlready = waitingDeployment({ id: 104, createdAt: '2026-11-23T09:50:00.000Z', pendingApprovalCount: 0 });

function setup(extra: Deployment[] = []) {
  const index = new FakePendingIndex();
  index.put(
    openCard(web),
    openCard(payments),
    openCard(site, { version: 3 }),
    openCard(approvedAlready, { state: 'approved' }),
    ...extra.map((d) => openCard(d)),
  );
  const membership = new FakeMembership();
  membership.projectMembers.set(42, [
    { ...alice, level: 40 },
    { ...bob, level: 40 },
    { ...carol, level: 30 },
  ]);
  membership.projectMembers.set(
    43,
    [alice, bob, carol].map((u) => ({ ...u, level: 40 })),
  );
  membership.projectMembers.set(
    44,
    [alice, carol, dave].map((u) => ({ ...u, level: 40 })),
  );
  const identity = new FakeIdentity();
  identity.link('U0ALICE', alice);
  identity.link('U0CAROL', carol);
  identity.link('U0DAVE', dave);
  const logger = new CapturingLogger();
  const visibility = new FakeVisibility();
  const list = async (slackUserId: string, text: string, offset = 0, limit = 20) =>
    listPending(
      { index, identity, membership, policy: fourEyesOff, visibility, logger },
      { user: { teamId: 'T1', userId: slackUserId }, query: parsePendingQuery(text), offset, limit },
    );
  const ids = async (slackUserId: string, text: string) => {
    const answer = await list(slackUserId, text);
    if (answer.kind !== 'page') throw new Error(`expected a page, got ${answer.kind}`);
    return answer.rows.map((r) => r.deploymentId);
  };
  return { index, membership, identity, logger, list, ids };
}

describe('the query', () => {
  it('separates `mine` from filter words, case-insensitively, and prints back what was asked', () => {
    expect(parsePendingQuery('  Mine   PROD acme/web prod ')).toEqual({ mine: true, terms: ['prod', 'acme/web'] });
    expect(parsePendingQuery('')).toEqual({ mine: false, terms: [] });
    expect(queryText(parsePendingQuery('prod mine'))).toBe('mine prod');
  });

  it('matches every word against project path, environment or tier', () => {
    expect(matchesTerms(payments, ['payments'])).toBe(true);
    expect(matchesTerms(payments, ['staging'])).toBe(true);
    expect(matchesTerms(payments, ['pre-rel', 'acme'])).toBe(true);
    expect(matchesTerms(payments, ['acme', 'production'])).toBe(false);
  });
});

describe('listing what waits for approval', () => {
  it('lists only waiting deployments, newest first, with what a row shows', async () => {
    const { list } = setup();
    const answer = (await list('U0DAVE', '')) as PendingPage;
    expect(answer.rows.map((r) => r.deploymentId)).toEqual([103, 102, 101]);
    expect(answer).toMatchObject({
      kind: 'page',
      total: 3,
      waiting: 3,
      offset: 0,
      unchecked: 0,
      person: null,
      truncated: false,
    });
    expect(answer.rows[0]).toMatchObject({
      project: { path: 'other/site' },
      environment: { name: 'production-eu', tier: 'production' },
      progress: { approved: 1, required: 2 },
      cardVersion: 3,
      waitingSince: '2026-11-23T09:45:00.000Z',
    });
  });

  it('filters by project path fragment, environment or tier; all words must match', async () => {
    const { ids } = setup();
    expect(await ids('U0DAVE', 'acme')).toEqual([102, 101]);
    expect(await ids('U0DAVE', 'payments')).toEqual([102]);
    expect(await ids('U0DAVE', 'staging')).toEqual([102]);
    expect(await ids('U0DAVE', 'production')).toEqual([103, 101]);
    expect(await ids('U0DAVE', 'acme production')).toEqual([101]);
    expect(await ids('U0DAVE', 'nothing-like-this')).toEqual([]);
  });

  it('`mine` keeps what the person could approve now: in a rule, not the creator, not decided yet', async () => {
    const { ids } = setup();
    // alice: web yes (Maintainer); payments no (she triggered it); site no (she approved already)
    expect(await ids('U0ALICE', 'mine')).toEqual([101]);
    // carol: web no (Developer only); payments yes; site no (she triggered it)
    expect(await ids('U0CAROL', 'mine')).toEqual([102]);
    // dave: only in other/site, which still needs an approval
    expect(await ids('U0DAVE', 'mine')).toEqual([103]);
    expect(await ids('U0DAVE', 'mine acme')).toEqual([]);
  });

  it('`mine` names the GitLab user and asks unknown people to get linked', async () => {
    const { list, identity } = setup();
    expect(((await list('U0ALICE', 'mine')) as PendingPage).person?.username).toBe('alice');
    expect(await list('U0NOBODY', 'mine')).toEqual({ kind: 'unlinked' });
    identity.links.set('U0BROKEN', { kind: 'broken', reason: 'token revoked' });
    expect(await list('U0BROKEN', 'mine')).toEqual({ kind: 'broken', reason: 'token revoked' });
    // without `mine`, nobody needs an account
    expect((await list('U0NOBODY', '')).kind).toBe('page');
  });

  it('`mine` leaves out, counts and logs deployments whose rule membership cannot be read', async () => {
    const { list, membership, logger } = setup();
    membership.failFor.add(44);
    const answer = (await list('U0DAVE', 'mine')) as PendingPage;
    expect(answer.rows).toEqual([]);
    expect(answer.unchecked).toBe(1);
    expect(
      logger.lines.some(
        (l) => l.level === 'warn' && l.msg === 'rule membership could not be read' && l.deploymentId === 103,
      ),
    ).toBe(true);
  });

  it('needs no membership read for the creator or someone who decided already', async () => {
    const { list, membership } = setup();
    await list('U0ALICE', 'mine payments');
    expect(membership.reads).toEqual([]);
  });

  it('pages: offset and limit over everything that matches', async () => {
    const many = Array.from({ length: 42 }, (_, i) =>
      waitingDeployment({
        id: 200 + i,
        createdAt: new Date(Date.parse('2026-11-22T00:00:00Z') + i * 60_000).toISOString(),
      }),
    );
    const { list } = setup(many);
    const second = (await list('U0DAVE', 'acme/web', 20, 20)) as PendingPage;
    expect(second.total).toBe(43);
    expect(second.offset).toBe(20);
    expect(second.rows.map((r) => r.deploymentId)).toEqual(Array.from({ length: 20 }, (_, i) => 222 - i));
    const last = (await list('U0DAVE', 'acme/web', 40, 20)) as PendingPage;
    expect(last.rows.map((r) => r.deploymentId)).toEqual([202, 201, 200]);
    // an offset past the end (things were decided meanwhile) shows the last one left
    const past = (await list('U0DAVE', 'acme/web', 99, 20)) as PendingPage;
    expect(past.rows.map((r) => r.deploymentId)).toEqual([200]);
  });
});
