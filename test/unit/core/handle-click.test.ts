import { beforeEach, describe, expect, it } from 'vitest';
import { GreenlightError } from '../../../src/core/errors.ts';
import {
  DECISION_WINDOW_MS,
  giveUpClick,
  handleClick,
  type AuditEntry,
  type Click,
  type HandleClickDeps,
} from '../../../src/core/approvals/handle-click.ts';
import type { Notice } from '../../../src/core/approvals/notices.ts';
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

type SentNotice = { channel: string; user: string; team?: string; notice: Notice };

describe('handleClick: a click is decided, audited and answered', () => {
  let entries: AuditEntry[];
  let notices: SentNotice[];
  let now: number;
  let identity: FakeIdentity;
  let actor: FakeActor;
  let logger: CapturingLogger;
  let deps: HandleClickDeps;
  let failAppend: boolean;
  const job = (over: Partial<Click> = {}): Click => ({
    ref: { projectId: 42, deploymentId: 4711 },
    slackUser: { teamId: 'T1', userId: 'U0ALICE' },
    action: 'approve',
    channel: 'C1',
    requestedAt: now,
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
    now = Date.parse('2026-12-01T10:00:00Z');
    deps = {
      gitlab,
      identity,
      notices: { enqueueNotice: async (n) => void notices.push(n) },
      decide: {
        gitlab,
        identity,
        cards: new FakeCardStore(),
        queue: new FakeQueue(),
        policy: { fourEyes: { forbidCommitAuthor: false } },
        visibility: new FakeVisibility(),
      },
      clock: { now: () => now },
      linkMode: 'oauth',
      command: '/deploys',
      logger,
      audit: {
        append: async (entry) => {
          if (failAppend) throw new Error('redis down');
          entries.push(entry);
        },
      },
    };
  });

  it('records who decided what, as which GitLab user, with the comment', async () => {
    expect(await handleClick(deps, job({ action: 'reject', comment: 'tests fail' }))).toBe('recorded');
    expect(entries).toEqual([
      {
        at: '2026-12-01T10:00:00.000Z',
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
    expect(await handleClick(deps, job({ slackUser: { teamId: 'T1', userId: 'U0NOBODY' } }))).toBe('unlinked');
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
    deps.decide.gitlab = deps.gitlab as FakeGitLabReader;
    await handleClick(deps, job({ slackUser: { teamId: 'T1', userId: 'U0NOBODY' } }));
    await handleClick(deps, job({ requestedAt: now - 120_000 }));
    expect(entries.map((e) => [e.outcome, e.project])).toEqual([
      ['unlinked', snapshot.project.path],
      ['expired', snapshot.project.path],
    ]);
  });

  it('records a failed attempt (then BullMQ retries), a click that expired, and giving up', async () => {
    actor.failWith = new GreenlightError('gitlab_unavailable', 'GitLab answered 502');
    await expect(handleClick(deps, job())).rejects.toThrow('GitLab answered 502');
    expect(await handleClick(deps, job({ requestedAt: now - 120_000 }))).toBe('expired');
    await giveUpClick(deps, job(), actor.failWith);
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
      expect(await handleClick(deps, job())).toBe('recorded');
      expect(actor.calls).toHaveLength(1);
      expect(logger.lines.find((l) => l.msg === 'audit entry could not be written')).toMatchObject({
        level: 'error',
        outcome: 'recorded',
      });
    },
  );

  it('holds the decision window on the Clock: decided up to the window, expired just after it', async () => {
    const click = job();
    now += DECISION_WINDOW_MS;
    expect(await handleClick(deps, click)).toBe('recorded');
    now += 1;
    expect(await handleClick(deps, click)).toBe('expired');
    expect(actor.calls).toHaveLength(1);
    expect(notices.at(-1)).toMatchObject({ channel: 'C1', user: 'U0ALICE', notice: { tone: 'error' } });
    expect(entries.at(-1)).toMatchObject({ outcome: 'expired', at: new Date(now).toISOString() });
  });

  it('gives up at once when GitLab asks to wait past the decision window (no retry could land in time)', async () => {
    actor.failWith = new GreenlightError('gitlab_rate_limited', 'GitLab answered 429', { retryAfterMs: 120_000 });
    const error = await handleClick(deps, job()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'gitlab_rate_limited', retryable: false });
    actor.failWith = new GreenlightError('gitlab_rate_limited', 'GitLab answered 429', { retryAfterMs: 5_000 });
    expect(await handleClick(deps, job()).catch((e: unknown) => e)).toMatchObject({ retryable: true });
  });
});
