import { describe, expect, it, beforeEach } from 'vitest';
import { decideDeployment, type DecideDeps } from '../../../src/core/approvals/decide-deployment.ts';
import { GreenlightError } from '../../../src/core/errors.ts';
import {
  CapturingLogger,
  FakeCardStore,
  FakeGitLabReader,
  FakeIdentity,
  FakeQueue,
  FakeVisibility,
  type FakeActor,
} from '../../fakes/in-memory.ts';
import { alice, approvedBy, bob, carol, waitingDeployment } from '../../fixtures/deployments.ts';
import { openCard } from '../../fakes/in-memory-personal.ts';

describe('decideDeployment', () => {
  let gitlab: FakeGitLabReader;
  let identity: FakeIdentity;
  let cards: FakeCardStore;
  let queue: FakeQueue;
  let deps: DecideDeps;
  let aliceActor: FakeActor;
  const ref = { projectId: 42, deploymentId: 4711 };
  const click = (userId: string, action: 'approve' | 'reject' | 'run' = 'approve', comment?: string) =>
    decideDeployment(deps, {
      ref,
      slackUser: { teamId: 'T1', userId },
      action,
      ...(comment !== undefined && { comment }),
    });

  beforeEach(() => {
    gitlab = new FakeGitLabReader();
    identity = new FakeIdentity();
    cards = new FakeCardStore();
    queue = new FakeQueue();
    deps = {
      gitlab,
      identity,
      cards,
      queue,
      policy: { fourEyes: { forbidCommitAuthor: false } },
      logger: new CapturingLogger(),
      visibility: new FakeVisibility(),
    };
    aliceActor = identity.link('U0ALICE', alice);
    gitlab.put(waitingDeployment());
  });

  it('records an approval as the clicker and asks for the card to be refreshed', async () => {
    const outcome = await click('U0ALICE');
    expect(outcome).toMatchObject({ kind: 'recorded', action: 'approve', as: { username: 'alice' } });
    expect(aliceActor.calls).toEqual([{ kind: 'decision', ref, input: { status: 'approved' } }]);
    expect(queue.syncs).toEqual([{ ...ref, reason: 'approve recorded' }]);
  });

  it('refuses the creator before any GitLab call when the card knows the creator', async () => {
    const bobActor = identity.link('U0BOB', bob);
    const snapshot = waitingDeployment();
    await cards.create({
      deploymentId: 4711,
      projectId: 42,
      channel: 'C1',
      ts: '1.2',
      version: 1,
      state: 'waiting',
      fingerprint: '',
      claimedAt: 0,
      updatedAt: 0,
      snapshot,
    });
    const outcome = await click('U0BOB');
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'self_approval' });
    expect(gitlab.calls).toEqual([]);
    expect(bobActor.calls).toEqual([]);
  });

  it(
    'refuses the creator after re-reading GitLab when ' + 'no card is known, and never calls the approval API',
    async () => {
      const bobActor = identity.link('U0BOB', bob);
      const outcome = await click('U0BOB');
      expect(outcome).toMatchObject({ kind: 'refused', reason: 'self_approval' });
      expect(gitlab.calls).toEqual(['getDeployment 4711']);
      expect(bobActor.calls).toEqual([]);
    },
  );

  it('lets the creator reject their own deployment (GitLab allows it)', async () => {
    const bobActor = identity.link('U0BOB', bob);
    expect(await click('U0BOB', 'reject', 'wrong branch')).toMatchObject({ kind: 'recorded', action: 'reject' });
    expect(bobActor.calls[0]).toMatchObject({ input: { status: 'rejected', comment: 'wrong branch' } });
  });

  it("tells an unknown Slack user in the card's channel how to get linked, and calls nothing", async () => {
    cards.records.set(ref.deploymentId, openCard(waitingDeployment()));
    expect(await click('U0NOBODY')).toEqual({ kind: 'refused', reason: 'unlinked' });
    expect(gitlab.calls).toEqual([]);
  });

  it('does nothing for someone who could not see the deployment (not in its channel, not a reader)', async () => {
    const visibility = new FakeVisibility();
    deps = { ...deps, visibility };
    cards.records.set(ref.deploymentId, openCard(waitingDeployment(), { channel: 'C0PRIVATE' }));
    visibility.members.set('C0PRIVATE', new Set(['U0CAROL']));
    visibility.readers.set(ref.projectId, new Set([bob.id]));
    expect(await click('U0ALICE')).toEqual({ kind: 'refused', reason: 'not_visible' });
    // nobody known, no card known: nothing to show them either
    cards.records.clear();
    expect(await click('U0NOBODY')).toEqual({ kind: 'refused', reason: 'not_visible' });
    expect(gitlab.calls).toEqual([]);
    expect(aliceActor.calls).toEqual([]);
    // Slack and GitLab unavailable: hidden, never shown by mistake
    visibility.fail = true;
    expect(await click('U0ALICE')).toEqual({ kind: 'refused', reason: 'not_visible' });
  });

  it('does not call the approval API twice for a double click', async () => {
    await click('U0ALICE');
    gitlab.put(
      approvedBy(
        waitingDeployment({ pendingApprovalCount: 2, rules: [{ ...waitingDeployment().rules[0]!, required: 2 }] }),
        alice,
      ),
    );
    expect(await click('U0ALICE')).toMatchObject({ kind: 'refused', reason: 'already_decided' });
    expect(aliceActor.calls).toHaveLength(1);
    // the card may not show that approval yet (a lost webhook): it is refreshed
    expect(queue.syncs.at(-1)).toMatchObject({ reason: 'click refused: already_decided' });
  });

  it('reports a retried decision that GitLab recorded before the crash as recorded, with no second call', async () => {
    const retry = (action: 'approve' | 'reject') =>
      decideDeployment(deps, { ref, slackUser: { teamId: 'T1', userId: 'U0ALICE' }, action, retried: true });
    // alice's approval was the last one needed: the deployment no longer waits
    gitlab.put(approvedBy(waitingDeployment(), alice));
    expect(await retry('approve')).toMatchObject({ kind: 'recorded', action: 'approve', as: { username: 'alice' } });
    expect(aliceActor.calls).toEqual([]);
    expect(queue.syncs).toEqual([{ ...ref, reason: 'approve recorded' }]);
    // someone else's approval is no reason: a retry of alice's click on it is refused like a first try
    gitlab.put(approvedBy(waitingDeployment(), carol));
    expect(await retry('approve')).toMatchObject({ kind: 'refused', reason: 'not_waiting' });
    // a first try that finds alice's own approval is a second click: already decided
    gitlab.put(
      approvedBy(
        waitingDeployment({ pendingApprovalCount: 2, rules: [{ ...waitingDeployment().rules[0]!, required: 2 }] }),
        alice,
      ),
    );
    expect(await click('U0ALICE')).toMatchObject({ kind: 'refused', reason: 'already_decided' });
    expect(await retry('approve')).toMatchObject({ kind: 'recorded' });
  });

  it('refuses decisions on a deployment that no longer waits and refreshes the card', async () => {
    gitlab.put(approvedBy(waitingDeployment(), carol));
    expect(await click('U0ALICE')).toMatchObject({ kind: 'refused', reason: 'not_waiting', by: { username: 'carol' } });
    expect(aliceActor.calls).toEqual([]);
    expect(queue.syncs).toHaveLength(1);
  });

  it('turns GitLab refusals into reasons (no permission is a 400 in GitLab)', async () => {
    aliceActor.failWith = new GreenlightError(
      'gitlab_refused',
      "You don't have permission to approve this deployment.",
      { detail: 'no_permission' },
    );
    expect(await click('U0ALICE')).toMatchObject({ kind: 'refused', reason: 'no_permission' });
  });

  it('lets retryable GitLab failures through for the job to retry', async () => {
    aliceActor.failWith = new GreenlightError('gitlab_unavailable', 'GitLab answered 502');
    await expect(click('U0ALICE')).rejects.toMatchObject({ code: 'gitlab_unavailable', retryable: true });
  });

  it('returns not_found when GitLab no longer has the deployment', async () => {
    gitlab.deployments.clear();
    expect(await click('U0ALICE')).toEqual({ kind: 'refused', reason: 'not_found' });
  });

  it('runs a fully approved deployment, and refuses to run one still waiting', async () => {
    expect(await click('U0ALICE', 'run')).toMatchObject({ kind: 'refused', reason: 'not_approved_yet' });
    gitlab.put({ ...approvedBy(waitingDeployment(), carol) });
    expect(await click('U0ALICE', 'run')).toMatchObject({ kind: 'recorded', action: 'run' });
    expect(aliceActor.calls).toEqual([{ kind: 'play', jobId: 796 }]);
  });

  it('with four eyes on, refuses the author of the deployed commit', async () => {
    deps = { ...deps, policy: { fourEyes: { forbidCommitAuthor: true } } };
    identity.link('U0CAROL', carol, 'oauth', ['Bob@Example.com']);
    expect(await click('U0CAROL')).toMatchObject({ kind: 'refused', reason: 'commit_author' });
  });
});
