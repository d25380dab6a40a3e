import { describe, expect, it } from 'vitest';
import { renderCard } from '../../../src/adapters/slack/card-blocks.ts';
import { changesLine, changesModal } from '../../../src/adapters/slack/changes-blocks.ts';
import { slackDate } from '../../../src/adapters/slack/mrkdwn.ts';
import { validateBlocks } from '../../fakes/fake-slack/block-kit.ts';
import { buildCardModel } from '../../../src/core/cards/card-model.ts';
import type { ChangesView, RangeChanges } from '../../../src/core/cards/changes-summary.ts';
import { alice, bob, waitingDeployment } from '../../fixtures/deployments.ts';

const route = {
  channel: 'C1',
  reminders: null,
  escalation: [],
  workingHours: null,
  runAfterApproval: 'button' as const,
};
const people = async (u: { name: string; username: string }) => ({
  name: u.name,
  username: u.username,
  slackUserId: null,
});
const hostile = (n: number) => `<!channel> *bold* <@U0456ALICE> & ${'z'.repeat(n)}`;
const sha = (n: number) => n.toString(16).padStart(40, 'b');

function ready(
  over: Partial<Extract<ChangesView, { status: 'ready' }>> = {},
): Extract<ChangesView, { status: 'ready' }> {
  return {
    status: 'ready',
    current: {
      deploymentId: 1,
      ref: hostile(300),
      sha: sha(1),
      shortSha: sha(1).slice(0, 8),
      at: '2026-11-22T10:00:00.000Z',
      by: { ...bob, name: hostile(300) },
      commitDate: null,
    },
    range: {
      kind: 'forward',
      count: 100,
      more: true,
      from: sha(1),
      to: sha(2),
      compareUrl: 'https://gitlab.example.com/acme/web/-/compare/a...b',
      mergeRequests: Array.from({ length: 5 }, (_, i) => ({
        iid: i + 1,
        title: hostile(2900),
        webUrl: `https://gitlab.example.com/acme/web/-/merge_requests/${i + 1}`,
        author: { ...alice, name: hostile(500) },
        shas: [],
      })),
      mergeRequestCount: 40,
    },
    pipeline: {
      state: 'failed',
      failed: [hostile(200), 'unit'],
      canceled: 0,
      running: 0,
      passed: 3,
      warnings: 0,
      url: null,
    },
    freeze: {
      startedAt: '2026-11-20T23:00:00.000Z',
      endsAt: '2026-11-23T07:00:00.000Z',
      period: { start: hostile(200), end: '0 7 * * 1', timezone: hostile(100) },
    },
    ...over,
  };
}

const texts = (blocks: Array<Record<string, unknown>>) => JSON.stringify(blocks);

describe('what changes, in Block Kit', () => {
  it('puts a freeze under the headline and what changes after the facts, escaped, within limits', async () => {
    const model = await buildCardModel(waitingDeployment(), {
      state: 'waiting',
      version: 3,
      route,
      people,
      changes: ready(),
    });
    const { blocks } = renderCard(model);
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    expect(blocks.map((b) => String(b.block_id).replace(/^dep-4711-/, ''))).toEqual([
      'h-v3',
      'z-v3',
      'f-v3',
      'w-v3',
      'r0-v3',
      'c-v3',
      'a-v3',
    ]);
    const what = (blocks[3] as { text: { text: string } }).text.text;
    expect(what.length).toBeLessThanOrEqual(3000);
    expect(what).toMatch(
      /^\*What changes:\* <https:\/\/gitlab\.example\.com\/acme\/web\/-\/compare\/a\.\.\.b\|100\+ commits> in 40 merge requests/,
    );
    expect(texts(blocks)).not.toContain('<!channel>');
    expect(texts(blocks)).not.toContain('<@U0456ALICE>');
    expect(what).toContain('&lt;!channel&gt;');
    expect(blocks[3]).toMatchObject({
      accessory: { type: 'button', action_id: 'deploy_changes', value: JSON.stringify({ d: 4711, p: 42 }) },
    });
  });

  it('says the changes are being read while they are, and nothing when the summary is off', async () => {
    const pending = renderCard(
      await buildCardModel(waitingDeployment(), {
        state: 'waiting',
        version: 1,
        route,
        people,
        changes: { status: 'pending' },
      }),
    );
    expect(texts(pending.blocks)).toContain('*What changes:* being read from GitLab…');
    const off = renderCard(await buildCardModel(waitingDeployment(), { state: 'waiting', version: 1, route, people }));
    expect(texts(off.blocks)).not.toContain('What changes');
  });

  it('sums it up in one line for lists, the Home tab and DMs', () => {
    expect(changesLine(ready())).toBe(
      `:snowflake: deploy freeze until ${slackDate('2026-11-23T07:00:00.000Z')} · ` +
        '<https://gitlab.example.com/acme/web/-/compare/a...b|100+ commits>, 40 MRs · 2 jobs failed',
    );
    expect(changesLine(ready({ current: null, range: null, freeze: null, pipeline: null }))).toBe(
      'first deployment here',
    );
    expect(changesLine({ status: 'pending' })).toBeNull();
    expect(changesLine(null)).toBeNull();
  });

  it('lists 50 long commits and 50 merge requests in a modal of at most 100 blocks, each section within 3,000', () => {
    const range: RangeChanges = {
      kind: 'forward',
      count: 100,
      more: true,
      commits: Array.from({ length: 50 }, (_, i) => ({
        sha: sha(i),
        title: hostile(900),
        authorName: hostile(300),
        webUrl: `https://gitlab.example.com/c/${i}`,
        mergeRequestIid: i,
      })),
      mergeRequests: Array.from({ length: 50 }, (_, i) => ({
        iid: i,
        title: hostile(900),
        webUrl: `https://gitlab.example.com/m/${i}`,
        author: alice,
        shas: [],
      })),
    };
    const view = changesModal({ what: 'acme/web → production', summary: ready(), range }) as {
      blocks: Array<Record<string, unknown>>;
    };
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(validateBlocks(view.blocks, 'modal')).toEqual([]);
    const json = texts(view.blocks);
    expect(json).not.toContain('<!channel>');
    expect(json.match(/https:\/\/gitlab\.example\.com\/c\//g)).toHaveLength(50);
    expect(json.match(/https:\/\/gitlab\.example\.com\/m\//g)).toHaveLength(50);
    expect(json).toContain('Showing the newest 50');
  });
});
