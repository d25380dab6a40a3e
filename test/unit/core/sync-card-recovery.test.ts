import { beforeEach, describe, expect, it } from 'vitest';
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
import { waitingDeployment } from '../../fixtures/deployments.ts';

const policy: Policy = {
  defaults: { channel: 'C0DEFAULT', reminders: null, escalation: [], workingHours: null, runAfterApproval: 'button' },
  routes: [],
  projects: [],
  groups: [],
  sweepEveryMs: 300_000,
  sweepListEveryMs: 3_600_000,
  sweepClassifyEveryMs: 86_400_000,
  fourEyes: { forbidCommitAuthor: false },
  users: [],
};

/** Slack took the post but the answer never came back (timeout, 5xx, or the worker died). */
class LossyChat extends FakeChat {
  loseNextAnswer: Error | null = null;
  override async postCard(channel: string, card: Parameters<FakeChat['postCard']>[1]) {
    const posted = await super.postCard(channel, card);
    const lost = this.loseNextAnswer;
    this.loseNextAnswer = null;
    if (lost) throw lost;
    return posted;
  }
}

describe('syncCard after a post whose outcome is unknown', () => {
  let gitlab: FakeGitLabReader;
  let cards: FakeCardStore;
  let chat: LossyChat;
  let clock: FakeClock;
  let deps: SyncCardDeps;
  const ref = { projectId: 42, deploymentId: 4711 };

  beforeEach(() => {
    gitlab = new FakeGitLabReader();
    cards = new FakeCardStore();
    chat = new LossyChat();
    clock = new FakeClock();
    deps = { gitlab, cards, chat, identity: new FakeIdentity(), policy, clock, logger: new CapturingLogger() };
    gitlab.put(waitingDeployment());
  });

  it('adopts a card Slack already shows at the next attempt, without waiting and without posting again', async () => {
    chat.loseNextAnswer = new GreenlightError('slack_unavailable', 'Slack answered HTTP 503', { detail: '503' });
    await expect(syncCard(deps, ref)).rejects.toMatchObject({ code: 'slack_unavailable' });
    expect((await cards.get(4711))?.ts).toBeNull();
    clock.advance(1_000);
    const outcome = await syncCard(deps, ref);
    expect(['updated', 'unchanged']).toContain(outcome.kind);
    expect(chat.posts).toHaveLength(1);
    expect((await cards.get(4711))?.ts).toBe(chat.posts[0]!.ts);
  });

  it('waits out the rest of the in-flight window when Slack does not show the card yet, then posts once', async () => {
    chat.failPostWith = new GreenlightError('slack_unavailable', 'Slack could not be reached', { detail: 'network' });
    await expect(syncCard(deps, ref)).rejects.toMatchObject({ code: 'slack_unavailable' });
    chat.failPostWith = null;
    clock.advance(5_000);
    await expect(syncCard(deps, ref)).rejects.toMatchObject({ code: 'slack_unavailable', retryAfterMs: 10_000 });
    expect(chat.posts).toHaveLength(0);
    clock.advance(10_000);
    expect(await syncCard(deps, ref)).toMatchObject({ kind: 'posted' });
    expect(await syncCard(deps, ref)).toMatchObject({ kind: 'unchanged' });
    expect(chat.posts).toHaveLength(1);
  });
});
