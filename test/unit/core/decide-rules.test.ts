import { beforeEach, describe, expect, it } from 'vitest';
import { decideDeployment, type DecideDeps } from '../../../src/core/approvals/decide-deployment.ts';
import { chooseRuleNotice, refusalNotice } from '../../../src/core/approvals/notices.ts';
import { GreenlightError } from '../../../src/core/errors.ts';
import type { GitLabUser } from '../../../src/core/deployments/deployment.ts';
import {
  CapturingLogger,
  FakeCardStore,
  FakeGitLabReader,
  FakeIdentity,
  FakeMembership,
  FakeQueue,
  FakeVisibility,
  type FakeActor,
} from '../../fakes/in-memory.ts';
import { alice, approval, approvedBy, bob, carol, rule, waitingDeployment } from '../../fixtures/deployments.ts';

const dave: GitLabUser = { id: 14, username: 'dave', name: 'Dave Ops' };
const maintainers = rule({ id: 1, name: 'Maintainers', required: 1 });
const qa = rule({ id: 2, name: 'qa-group', accessLevel: null, groupId: 9, required: 1 });
const security = rule({ id: 3, name: 'security', accessLevel: null, groupId: 10, required: 1 });

describe('decideDeployment: represented_as, superseded cards, run refusals', () => {
  let gitlab: FakeGitLabReader;
  let identity: FakeIdentity;
  let cards: FakeCardStore;
  let membership: FakeMembership;
  let logger: CapturingLogger;
  let deps: DecideDeps;
  let carolActor: FakeActor;
  const ref = { projectId: 42, deploymentId: 4711 };
  const approve = (userId: string, representedAs?: string) =>
    decideDeployment(deps, {
      ref,
      slackUser: { teamId: 'T1', userId },
      action: 'approve',
      ...(representedAs !== undefined && { representedAs }),
    });

  beforeEach(() => {
    gitlab = new FakeGitLabReader();
    identity = new FakeIdentity();
    cards = new FakeCardStore();
    membership = new FakeMembership()
      .set('Maintainers', [alice, bob, carol])
      .set('qa-group', [carol, dave])
      .set('security', [carol]);
    logger = new CapturingLogger();
    deps = {
      gitlab,
      identity,
      cards,
      queue: new FakeQueue(),
      policy: { fourEyes: { forbidCommitAuthor: false } },
      logger,
      membership,
      visibility: new FakeVisibility(),
    };
    carolActor = identity.link('U0CAROL', carol);
    identity.link('U0ALICE', alice);
  });

  it('asks which rule when the approver fits several open rules, and records nothing yet', async () => {
    gitlab.put(waitingDeployment({ pendingApprovalCount: 2, rules: [maintainers, qa] }));
    const outcome = await approve('U0CAROL');
    expect(outcome).toMatchObject({
      kind: 'choose_rule',
      rules: ['Maintainers', 'qa-group'],
      as: { username: 'carol' },
    });
    expect(carolActor.calls).toEqual([]);
  });

  it('sends the chosen rule as represented_as', async () => {
    gitlab.put(waitingDeployment({ pendingApprovalCount: 2, rules: [maintainers, qa] }));
    expect(await approve('U0CAROL', 'qa-group')).toMatchObject({ kind: 'recorded' });
    expect(carolActor.calls).toEqual([
      { kind: 'decision', ref, input: { status: 'approved', representedAs: 'qa-group' } },
    ]);
  });

  it("names the open rule itself when GitLab's own pick would count for a satisfied rule", async () => {
    gitlab.put(
      waitingDeployment({
        pendingApprovalCount: 1,
        rules: [{ ...maintainers, approvals: [approval(alice)] }, qa],
        approvals: [approval(alice)],
      }),
    );
    expect(await approve('U0CAROL')).toMatchObject({ kind: 'recorded' });
    expect(carolActor.calls[0]!.input).toEqual({ status: 'approved', representedAs: 'qa-group' });
  });

  it('chooses again when the chosen rule got its approvals in the meantime', async () => {
    gitlab.put(
      waitingDeployment({
        pendingApprovalCount: 2,
        rules: [{ ...maintainers, approvals: [approval(alice)] }, qa, security],
        approvals: [approval(alice)],
      }),
    );
    expect(await approve('U0CAROL', 'Maintainers')).toMatchObject({
      kind: 'choose_rule',
      rules: ['qa-group', 'security'],
    });
    gitlab.put(
      waitingDeployment({
        pendingApprovalCount: 1,
        rules: [{ ...maintainers, approvals: [approval(alice)] }, qa, { ...security, approvals: [approval(dave)] }],
        approvals: [approval(alice), approval(dave)],
      }),
    );
    expect(await approve('U0CAROL', 'security')).toMatchObject({ kind: 'recorded' });
    expect(carolActor.calls[0]!.input).toEqual({ status: 'approved', representedAs: 'qa-group' });
  });

  it('treats open rules with the same name as one choice (represented_as matches by name)', async () => {
    const groupMaintainers = rule({ id: 9, name: 'Maintainers', required: 1 });
    gitlab.put(waitingDeployment({ pendingApprovalCount: 2, rules: [maintainers, groupMaintainers] }));
    expect(await approve('U0CAROL')).toMatchObject({ kind: 'recorded' });
    expect(carolActor.calls[0]!.input).toEqual({ status: 'approved', representedAs: 'Maintainers' });
  });

  it('leaves the rule to GitLab when membership cannot be read', async () => {
    membership.failing.add('qa-group');
    gitlab.put(waitingDeployment({ pendingApprovalCount: 2, rules: [maintainers, qa] }));
    expect(await approve('U0CAROL')).toMatchObject({ kind: 'recorded' });
    expect(carolActor.calls[0]!.input).toEqual({ status: 'approved' });
    expect(logger.lines.some((l) => l.msg === 'could not read rule membership; GitLab picks the rule')).toBe(true);
  });

  it('refuses any decision on a superseded card without calling GitLab', async () => {
    await cards.create({
      deploymentId: 4711,
      projectId: 42,
      channel: 'C1',
      ts: '1.2',
      version: 2,
      state: 'superseded',
      fingerprint: '',
      claimedAt: 0,
      updatedAt: 0,
      snapshot: waitingDeployment(),
    });
    gitlab.put(waitingDeployment());
    expect(await approve('U0CAROL')).toMatchObject({ kind: 'refused', reason: 'superseded' });
    expect(gitlab.calls).toEqual([]);
    expect(carolActor.calls).toEqual([]);
  });

  it("explains GitLab's refusals to run: 400 Unplayable Job and 403", async () => {
    gitlab.put(approvedBy(waitingDeployment(), alice));
    const run = () => decideDeployment(deps, { ref, slackUser: { teamId: 'T1', userId: 'U0CAROL' }, action: 'run' });
    carolActor.failWith = new GreenlightError('gitlab_refused', '400 Bad request - Unplayable Job', {
      detail: 'unplayable',
    });
    expect(await run()).toMatchObject({ kind: 'refused', reason: 'unplayable' });
    carolActor.failWith = new GreenlightError('gitlab_forbidden', '403 Forbidden', { detail: '403' });
    expect(await run()).toMatchObject({ kind: 'refused', reason: 'run_forbidden' });
    expect(refusalNotice('run_forbidden', { linkMode: 'sudo', command: '/deploys' }).text).toMatch(
      /not allowed to deploy to this environment/,
    );
    expect(refusalNotice('unplayable', { linkMode: 'sudo', command: '/deploys' }).text).toMatch(
      /cannot run this job now/,
    );
  });
});

describe('notices about decisions made elsewhere', () => {
  const ctx = { linkMode: 'sudo' as const, command: '/deploys' };
  it('says who already decided', () => {
    expect(refusalNotice('not_waiting', { ...ctx, state: 'approved', by: '<@U0CAROL>' }).text).toBe(
      'Nothing to do: this deployment was already approved (last by ' +
        '<@U0CAROL>) and waits to be run. The card is up to date now.',
    );
    expect(refusalNotice('not_waiting', { ...ctx, state: 'rejected', by: 'Bob Builder (@bob)' }).text).toMatch(
      /was already rejected by Bob Builder \(@bob\)\./,
    );
    expect(refusalNotice('not_waiting', { ...ctx, state: 'running', by: null }).text).toMatch(/is already running/);
    expect(refusalNotice('superseded', ctx).text).toMatch(/newer deployment/);
  });

  it('asks which rule with one choice per rule', () => {
    expect(
      chooseRuleNotice({ projectId: 42, deploymentId: 4711 }, ['qa-group', 'security'], 'acme/web → production'),
    ).toMatchObject({
      approveAs: { ref: { projectId: 42, deploymentId: 4711 }, rules: ['qa-group', 'security'] },
    });
  });
});
