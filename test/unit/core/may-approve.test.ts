import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canStillApprove, whoCanStillApprove } from '../../../src/core/approvals/eligible-approvers.ts';
import { approvalRefusal, mayApprove, type Approver } from '../../../src/core/approvals/may-approve.ts';
import { resolveCommitAuthor } from '../../../src/core/approvals/resolve-commit-author.ts';
import type { Deployment, GitLabUser } from '../../../src/core/deployments/deployment.ts';
import { alice, bob, carol, waitingDeployment } from '../../fixtures/deployments.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';

const on = { fourEyes: { forbidCommitAuthor: true } };
const off = { fourEyes: { forbidCommitAuthor: false } };

/** bob triggered it; alice wrote the commit (alice@acme.test, GitLab account looked up). */
const byAlice = (author: GitLabUser | null | 'not looked up' = alice): Deployment =>
  waitingDeployment({
    commit: {
      title: 'Add login page',
      webUrl: null,
      authorEmail: 'alice@acme.test',
      ...(author !== 'not looked up' && { author }),
    },
  });

describe('mayApprove: who may approve a deployment', () => {
  it('never the creator, whatever the policy says', () => {
    expect(approvalRefusal(byAlice(), { id: bob.id }, off)).toBe('self_approval');
    expect(approvalRefusal(byAlice(), { id: bob.id, emails: ['alice@acme.test'] }, on)).toBe('self_approval');
  });

  it('with forbid_commit_author, not the commit author: by GitLab account or by one of their own e-mails', () => {
    expect(approvalRefusal(byAlice(), { id: alice.id }, on)).toBe('commit_author');
    expect(approvalRefusal(byAlice('not looked up'), { id: alice.id, emails: ['Alice@ACME.test'] }, on)).toBe(
      'commit_author',
    );
    expect(mayApprove(byAlice('not looked up'), { id: alice.id }, on)).toBe(true); // not known to be the author
    expect(mayApprove(byAlice(), { id: carol.id, emails: ['carol@acme.test'] }, on)).toBe(true);
  });

  it('without forbid_commit_author, the commit author may', () => {
    expect(mayApprove(byAlice(), { id: alice.id, emails: ['alice@acme.test'] }, off)).toBe(true);
  });

  it('property: for any policy and person, the triggerer is never allowed', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1 }),
        fc.array(fc.emailAddress(), { maxLength: 3 }),
        fc.option(fc.emailAddress(), { nil: null }),
        (forbid, creatorId, emails, authorEmail) => {
          const creator = { id: creatorId, username: 'u', name: 'U' };
          const d = waitingDeployment({ creator, commit: { title: null, webUrl: null, authorEmail } });
          const person: Approver = { id: creatorId, emails };
          expect(mayApprove(d, person, { fourEyes: { forbidCommitAuthor: forbid } })).toBe(false);
        },
      ),
    );
  });

  it('property: with forbid_commit_author on, the commit author is never allowed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1 }),
        fc.integer({ min: 1 }),
        fc.emailAddress(),
        fc.array(fc.emailAddress(), { maxLength: 3 }),
        fc.boolean(),
        (personId, creatorId, authorEmail, otherEmails, byAccount) => {
          const d = waitingDeployment({
            creator: { id: creatorId, username: 'c', name: 'C' },
            commit: {
              title: null,
              webUrl: null,
              authorEmail,
              // Known as the author either by the GitLab account behind the e-mail, or by the person's e-mails.
              ...(byAccount && { author: { id: personId, username: 'a', name: 'A' } }),
            },
          });
          const emails = byAccount ? otherEmails : [...otherEmails, authorEmail.toUpperCase()];
          expect(mayApprove(d, { id: personId, emails }, on)).toBe(false);
        },
      ),
    );
  });
});

describe('every list of who can approve asks mayApprove', () => {
  const membership = { ruleMembers: async () => [alice, bob, carol] };

  it('leaves the commit author out of the people a rule waits for, and out of "can still approve"', async () => {
    const people = async (policy: typeof on) =>
      (await whoCanStillApprove({ membership, policy }, byAlice()))[0]!.people.map((u) => u.username);
    expect(await people(on)).toEqual(['carol']);
    expect(await people(off)).toEqual(['alice', 'carol']);
    expect(await canStillApprove({ membership, policy: on }, byAlice('not looked up'), { id: alice.id })).toBe(true);
    expect(
      await canStillApprove({ membership, policy: on }, byAlice('not looked up'), {
        id: alice.id,
        emails: ['alice@acme.test'],
      }),
    ).toBe(false);
  });
});

describe('the commit author looked up once per commit', () => {
  const logger = new CapturingLogger();

  it('looks the e-mail up only when the policy forbids the commit author, and reuses an earlier read', async () => {
    const asked: string[] = [];
    const gitlab = {
      findUserByEmail: async (email: string) => {
        asked.push(email);
        return alice;
      },
    };
    const read = byAlice('not looked up');
    expect((await resolveCommitAuthor({ gitlab, policy: off, logger }, read)).commit.author).toBeUndefined();
    expect(asked).toEqual([]);
    const first = await resolveCommitAuthor({ gitlab, policy: on, logger }, read);
    expect(first.commit.author).toEqual(alice);
    expect((await resolveCommitAuthor({ gitlab, policy: on, logger }, read, first)).commit.author).toEqual(alice);
    expect(asked).toEqual(['alice@acme.test']);
  });

  it('leaves the author unknown when GitLab cannot be asked, and says so', async () => {
    const gitlab = {
      findUserByEmail: async () => {
        throw new Error('GitLab unavailable');
      },
    };
    const out = await resolveCommitAuthor({ gitlab, policy: on, logger }, byAlice('not looked up'));
    expect(out.commit.author).toBeUndefined();
    expect(logger.lines.some((l) => l.msg === 'could not look up the GitLab account of the commit author')).toBe(true);
  });
});
