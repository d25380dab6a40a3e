import { describe, expect, it } from 'vitest';
import {
  canStillApprove,
  chooseRule,
  rulesFor,
  whoCanStillApprove,
  type MembershipPort,
} from '../../../src/core/approvals/eligible-approvers.ts';
import type { ApprovalRule, GitLabUser } from '../../../src/core/deployments/deployment.ts';
import { alice, approval, bob, carol, rule, waitingDeployment } from '../../fixtures/deployments.ts';

const fourEyesOff = { fourEyes: { forbidCommitAuthor: false } };

const dave: GitLabUser = { id: 14, username: 'dave', name: 'Dave' };
const membership: MembershipPort = {
  async ruleMembers(_projectId, r: ApprovalRule) {
    if (r.groupId === 9) return [carol, dave];
    if (r.accessLevel === 40) return [alice, bob, carol];
    return [];
  },
};

describe('who can still approve', () => {
  const qa = rule({ id: 2, name: 'qa-group', accessLevel: null, groupId: 9, required: 1 });
  const maintainers = rule({ id: 1, name: 'Maintainers', required: 2 });

  it('lists, per unsatisfied rule, the members who are neither the creator nor already decided', async () => {
    const d = waitingDeployment({
      pendingApprovalCount: 2,
      rules: [{ ...maintainers, approvals: [approval(alice)] }, qa],
      approvals: [approval(alice)],
    });
    const missing = await whoCanStillApprove({ membership, policy: fourEyesOff }, d);
    expect(missing.map((m) => [m.rule.name, m.missing, m.people.map((p) => p.username)])).toEqual([
      ['Maintainers', 1, ['carol']],
      ['qa-group', 1, ['carol', 'dave']],
    ]);
  });

  it('drops satisfied rules, and answers for one person', async () => {
    const d = waitingDeployment({
      pendingApprovalCount: 1,
      rules: [{ ...maintainers, required: 1, approvals: [approval(alice)] }, qa],
      approvals: [approval(alice)],
    });
    expect((await whoCanStillApprove({ membership, policy: fourEyesOff }, d)).map((m) => m.rule.name)).toEqual([
      'qa-group',
    ]);
    expect(await canStillApprove({ membership, policy: fourEyesOff }, d, dave)).toBe(true);
    expect(await canStillApprove({ membership, policy: fourEyesOff }, d, alice)).toBe(false);
    expect(await canStillApprove({ membership, policy: fourEyesOff }, d, bob)).toBe(false);
  });

  it('finds every rule a person could approve for (represented_as)', async () => {
    const d = waitingDeployment({ pendingApprovalCount: 3, rules: [maintainers, qa] });
    expect((await rulesFor({ membership, policy: fourEyesOff }, d, carol.id)).map((r) => r.name)).toEqual([
      'Maintainers',
      'qa-group',
    ]);
    expect((await rulesFor({ membership, policy: fourEyesOff }, d, dave.id)).map((r) => r.name)).toEqual(['qa-group']);
  });
});

describe('which rule an approval counts for (represented_as)', () => {
  const maintainers = rule({ id: 1, name: 'Maintainers', required: 1 });
  const qa = rule({ id: 2, name: 'qa-group', accessLevel: null, groupId: 9, required: 1 });

  it('asks when the person fits several open rules', async () => {
    const d = waitingDeployment({ pendingApprovalCount: 2, rules: [maintainers, qa] });
    const choice = await chooseRule({ membership, policy: fourEyesOff }, d, carol.id);
    expect(choice.kind === 'several' && choice.rules.map((r) => r.name)).toEqual(['Maintainers', 'qa-group']);
  });

  it("names the open rule when GitLab's first pick for the person is a satisfied rule", async () => {
    const d = waitingDeployment({
      pendingApprovalCount: 1,
      rules: [{ ...maintainers, approvals: [approval(alice)] }, qa],
      approvals: [approval(alice)],
    });
    const choice = await chooseRule({ membership, policy: fourEyesOff }, d, carol.id);
    expect(choice.kind === 'one' && choice.rule.name).toBe('qa-group');
  });

  it('leaves it to GitLab when its first pick is the open rule, or the person fits no open rule', async () => {
    const d = waitingDeployment({
      pendingApprovalCount: 1,
      rules: [qa, { ...maintainers, approvals: [approval(alice)] }],
      approvals: [approval(alice)],
    });
    expect(await chooseRule({ membership, policy: fourEyesOff }, d, carol.id)).toEqual({ kind: 'gitlab_decides' });
    expect(await chooseRule({ membership, policy: fourEyesOff }, d, 99)).toEqual({ kind: 'gitlab_decides' });
  });
});
