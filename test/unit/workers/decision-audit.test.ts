import type { Job } from 'bullmq';
import { beforeEach, describe, expect, it } from 'vitest';
import { GreenlightError } from '../../../src/core/errors.ts';
import type { DecisionJob, NoticeJob, Producer } from '../../../src/adapters/queue/queues.ts';
import type { AuditEntry } from '../../../src/adapters/redis/audit-log.ts';
import { giveUpDecision, processDecision, type ProcessorDeps } from '../../../src/entrypoints/workers/processors.ts';
import {
  CapturingLogger,
  FakeCardStore,
  FakeGitLabReader,
  FakeIdentity,
  FakeQueue,
  FakeVisibility,
  type FakeActor,
} from '../../fakes/in-memory.ts';
import { alice, waitingDeployment } from '../../fixtures/deployments.ts';
import { openCard } from '../../fakes/in-memory-personal.ts';

describe('decision processing writes the audit trail', () => {
  let entries: AuditEntry[];
  let notices: NoticeJob[];
  let identity: FakeIdentity;
  let actor: FakeActor;
  let logger: CapturingLogger;
  let deps: ProcessorDeps;
  let failAppend: boolean;
  const job = (over: Partial<DecisionJob> = {}): DecisionJob => ({
    ref: { projectId: 42, deploymentId: 4711 },
    slackUser: { teamId: 'T1', userId: 'U0ALICE' },
    action: 'approve',
    channel: 'C1',
    requestedAt: Date.now(),
    ...over,
  });

  beforeEach(() => {
    entries = [];
    notices = [];
    failAppend = false;
    identity = new FakeIdentity();
    actor = identity.link('U0ALICE', alice);
    logger = new CapturingLogger();
    const gitlab = new FakeGitLabReader();
    gitlab.put(waitingDeployment());
    const producer = { enqueueNotice: async (n: NoticeJob) => void notices.push(n) } as unknown as Producer;
    deps = {
      gitlab,
      producer,
      chat: {} as never,
      sync: {} as never,
      decide: {
        gitlab,
        identity,
        cards: new FakeCardStore(),
        queue: new FakeQueue(),
        policy: { fourEyes: { forbidCommitAuthor: false } },
        logger,
        visibility: new FakeVisibility(),
      },
      projects: { remember: async () => undefined, reportsBlocked: async () => false },
      linkMode: 'oauth',
      command: '/deploys',
      decisionWindowMs: 60_000,
      audit: {
        append: async (entry) => {
          if (failAppend) throw new Error('redis down');
          entries.push(entry);
        },
      },
    };
  });

  it('records who decided what, as which GitLab user, with the comment', async () => {
    expect(await processDecision(deps, job({ action: 'reject', comment: 'tests fail' }), logger)).toBe('recorded');
    expect(entries).toEqual([
      {
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        team: 'T1',
        slackUser: 'U0ALICE',
        gitlabUser: 'alice',
        project: 'acme/web',
        deployment: '4711',
        action: 'reject',
        comment: 'tests fail',
        outcome: 'recorded',
        error: '',
      },
    ]);
  });

  it('records refusals with their reason, and the Link notice knows the Slack team', async () => {
    await (deps.decide.cards as FakeCardStore).create(openCard(waitingDeployment()));
    expect(await processDecision(deps, job({ slackUser: { teamId: 'T1', userId: 'U0NOBODY' } }), logger)).toBe(
      'unlinked',
    );
    // the project's path, as in every other entry (read from GitLab: no card knows this deployment)
    expect(entries).toEqual([
      expect.objectContaining({
        slackUser: 'U0NOBODY',
        gitlabUser: '',
        project: 'acme/web',
        outcome: 'unlinked',
        error: '',
      }),
    ]);
    expect(notices).toEqual([
      expect.objectContaining({ user: 'U0NOBODY', team: 'T1', notice: expect.objectContaining({ link: true }) }),
    ]);
  });

  it('names the project by its path also when the deployment was not read: from the card clicked', async () => {
    const cards = new FakeCardStore();
    const snapshot = waitingDeployment();
    await cards.create({
      deploymentId: 4711,
      projectId: 42,
      channel: 'C1',
      ts: '1.2',
      version: 1,
      state: 'waiting',
      fingerprint: 'f',
      claimedAt: 0,
      updatedAt: 0,
      snapshot,
    } as Parameters<FakeCardStore['create']>[0]);
    deps.decide.cards = cards;
    deps.gitlab = new FakeGitLabReader(); // GitLab does not show it (any more)
    deps.decide.gitlab = deps.gitlab;
    await processDecision(deps, job({ slackUser: { teamId: 'T1', userId: 'U0NOBODY' } }), logger);
    await processDecision(deps, job({ requestedAt: Date.now() - 120_000 }), logger);
    expect(entries.map((e) => [e.outcome, e.project])).toEqual([
      ['unlinked', snapshot.project.path],
      ['expired', snapshot.project.path],
    ]);
  });

  it('records a failed attempt (then BullMQ retries), a click that expired, and giving up', async () => {
    actor.failWith = new GreenlightError('gitlab_unavailable', 'GitLab answered 502');
    await expect(processDecision(deps, job(), logger)).rejects.toThrow('GitLab answered 502');
    expect(await processDecision(deps, job({ requestedAt: Date.now() - 120_000 }), logger)).toBe('expired');
    await giveUpDecision(deps, { data: job() } as Job<DecisionJob>, actor.failWith);
    expect(entries.map((e) => [e.outcome, e.error])).toEqual([
      ['error', 'gitlab_unavailable: GitLab answered 502'],
      ['expired', ''],
      ['gave_up', 'gitlab_unavailable: GitLab answered 502'],
    ]);
  });

  it(
    'does not fail a recorded decision when the audit ' + 'stream cannot be written (a retry would record it twice)',
    async () => {
      failAppend = true;
      expect(await processDecision(deps, job(), logger)).toBe('recorded');
      expect(actor.calls).toHaveLength(1);
      expect(logger.lines.find((l) => l.msg === 'audit entry could not be written')).toMatchObject({
        level: 'error',
        outcome: 'recorded',
      });
    },
  );
});
