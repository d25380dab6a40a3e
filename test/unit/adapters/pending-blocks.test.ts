import { describe, expect, it } from 'vitest';
import { buildCardModel } from '../../../src/core/cards/card-model.ts';
import type { PendingPage } from '../../../src/core/pending/list-pending.ts';
import { parsePendingQuery } from '../../../src/core/pending/pending-query.ts';
import { pendingRow } from '../../../src/core/pending/pending-row.ts';
import type { HomeModel } from '../../../src/core/personal/ports.ts';
import { renderCard, type Block } from '../../../src/adapters/slack/card-blocks.ts';
import { renderHome } from '../../../src/adapters/slack/home-view.ts';
import {
  formatWaited,
  LIST_PAGE_SIZE,
  renderDm,
  renderPendingList,
  type ListContext,
} from '../../../src/adapters/slack/pending-blocks.ts';
import { alice, waitingDeployment } from '../../fixtures/deployments.ts';
import { openCard } from '../../fakes/in-memory-personal.ts';
import { validateBlocks, validateView } from '../../fakes/fake-slack/block-kit.ts';

const now = Date.parse('2026-11-23T12:07:25.000Z');
const route = {
  channel: 'C1',
  reminders: null,
  escalation: [],
  workingHours: null,
  runAfterApproval: 'button' as const,
};
const row = (id = 4711, over = {}) => pendingRow(openCard(waitingDeployment({ id, ...over }), { version: 2 }));
const ctx = (text = '', over: Partial<ListContext> = {}): ListContext => ({
  query: parsePendingQuery(text),
  now,
  command: '/deploys',
  linkMode: 'sudo',
  help: '*/deploys* — help text',
  ...over,
});
const page = (over: Partial<PendingPage> = {}): PendingPage => ({
  kind: 'page',
  rows: [row()],
  total: 1,
  offset: 0,
  waiting: 1,
  unchecked: 0,
  person: null,
  truncated: false,
  ...over,
});
type Button = {
  action_id: string;
  value?: string;
  url?: string;
  confirm?: unknown;
  style?: string;
  text: { text: string };
};
const buttons = (blocks: Block[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);

describe('rows of waiting deployments', () => {
  it('say how long it has waited in words people read at a glance', () => {
    expect(formatWaited(20_000)).toBe('less than a minute');
    expect(formatWaited(5 * 60_000)).toBe('5 min');
    expect(formatWaited(2 * 3_600_000)).toBe('2 h');
    expect(formatWaited(2 * 3_600_000 + 15 * 60_000)).toBe('2 h 15 min');
    expect(formatWaited(50 * 3_600_000)).toBe('2 d 2 h');
    expect(formatWaited(-5)).toBe('less than a minute');
  });

  it('carry exactly the card’s Approve and Reject buttons (same action_ids, values and confirmation)', async () => {
    const d = waitingDeployment();
    const card = renderCard(
      await buildCardModel(d, {
        state: 'waiting',
        version: 2,
        route,
        people: async (u) => ({ name: u.name, username: u.username, slackUserId: null }),
      }),
    );
    const list = renderPendingList(page({ rows: [pendingRow(openCard(d, { version: 2 }))] }), ctx());
    expect(buttons(list.blocks)).toEqual(buttons(card.blocks));
  });

  it('show project, environment, tier, time waited, progress, ref and who triggered it', () => {
    const d = waitingDeployment({
      environment: {
        id: 7,
        name: 'prod-eu',
        tier: 'production',
        externalUrl: null,
        webUrl: 'https://gitlab.example.com/env/7',
      },
    });
    const text = JSON.stringify(renderPendingList(page({ rows: [pendingRow(openCard(d))] }), ctx()).blocks);
    for (const part of [
      'acme/web',
      'prod-eu',
      '(production)',
      'Waiting 2 h 15 min',
      '0 of 1 approvals',
      '`main` @ 1a2b3c4d',
      'Bob Builder (@bob)',
      '#4711',
    ])
      expect(text).toContain(part);
  });
});

describe('the slash command’s answer', () => {
  it('fits a full page and its Show more button into Slack’s 50 blocks', () => {
    const rows = Array.from({ length: LIST_PAGE_SIZE }, (_, i) =>
      row(5000 + i, { project: { id: 42, path: `acme/${'x'.repeat(400)}`, name: 'x', webUrl: 'https://x' } }),
    );
    const message = renderPendingList(
      page({ rows, total: 53, waiting: 60, unchecked: 2, truncated: true }),
      ctx('mine acme'),
    );
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    const more = buttons(message.blocks).find((b) => b.action_id === 'pending_list_more')!;
    expect(JSON.parse(more.value!)).toEqual({ q: 'mine acme', o: 20 });
    expect(more.text.text).toBe('Show more (33 left)');
    expect(message.text).toBe('53 deployments wait for your approval matching "acme"');
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('showing 1–20');
    expect(json).toContain('GitLab did not say who may approve 2 deployments');
  });

  it('has no Show more on the last page', () => {
    const message = renderPendingList(page({ rows: [row()], total: 21, offset: 20 }), ctx());
    expect(buttons(message.blocks).map((b) => b.action_id)).not.toContain('pending_list_more');
    expect(JSON.stringify(message.blocks)).toContain('showing 21–21');
  });

  it('says when nothing waits, and gives the help when words match nothing', () => {
    expect(renderPendingList(page({ rows: [], total: 0, waiting: 0 }), ctx()).text).toBe(
      ':white_check_mark: Nothing waits for approval right now.',
    );
    expect(renderPendingList(page({ rows: [], total: 0, waiting: 3, person: alice }), ctx('mine')).text).toContain(
      'Nothing waits for your approval (as @alice). 3 other deployments wait',
    );
    const none = renderPendingList(page({ rows: [], total: 0, waiting: 3 }), ctx('frobnicate'));
    expect(none.text).toContain('Nothing waiting matches `frobnicate` (3 deployments wait in all');
    expect(JSON.stringify(none.blocks)).toContain('help text');
  });

  it('explains how to get known when `mine` cannot tell who the person is', () => {
    expect(renderPendingList({ kind: 'unlinked' }, ctx('mine')).text).toContain('Slack e-mail address');
    expect(renderPendingList({ kind: 'unlinked' }, ctx('mine', { linkMode: 'oauth' })).text).toContain(
      '`/deploys link`',
    );
    expect(renderPendingList({ kind: 'broken', reason: 'token revoked' }, ctx('mine')).text).toContain(
      'stopped working (token revoked)',
    );
  });

  it('escapes what people typed', () => {
    const none = renderPendingList(page({ rows: [], total: 0, waiting: 1 }), ctx('<!channel>'));
    expect(none.text).not.toContain('<!channel>');
  });
});

describe('the Home tab', () => {
  const home = (over: Partial<HomeModel> = {}): HomeModel => ({
    now,
    command: '/deploys',
    linkMode: 'sudo',
    link: { kind: 'linked', username: 'alice', name: 'Alice Approver', via: 'email' },
    linkUrl: null,
    dmEnabled: false,
    forYou: { rows: [row(1)], total: 1, unchecked: 0 },
    all: { rows: [row(1), row(2)], total: 2 },
    ...over,
  });

  it('is a valid home view within 100 blocks when both sections are full, with unique block_ids', () => {
    const rows = (n: number, from: number) => Array.from({ length: n }, (_, i) => row(from + i));
    const view = renderHome(
      home({ forYou: { rows: rows(10, 1), total: 14, unchecked: 1 }, all: { rows: rows(20, 1), total: 31 } }),
    );
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(validateView(view, 'home')).toMatchObject({ ok: true });
    const json = JSON.stringify(view.blocks);
    expect(json).toContain('Waiting for you (14)');
    expect(json).toContain('All pending (31)');
    expect(json).toContain('…and 4 more: `/deploys mine`');
    expect(json).toContain('…and 11 more');
  });

  it('shows the link status and how mapping works in sudo mode', () => {
    expect(JSON.stringify(renderHome(home()).blocks)).toContain('acts for you as GitLab user *@alice*');
    const unknown = JSON.stringify(renderHome(home({ link: { kind: 'unlinked' }, forYou: null })).blocks);
    expect(unknown).toContain('Slack e-mail address');
    expect(unknown).toContain('`users:`');
    expect(unknown).not.toContain('gitlab_link');
  });

  it('offers a Link button in oauth mode when a link target is known', () => {
    const view = renderHome(
      home({
        linkMode: 'oauth',
        link: { kind: 'unlinked' },
        forYou: null,
        linkUrl: 'https://greenlight.example.com/oauth/start',
      }),
    );
    const link = view.blocks.map((b) => b.accessory as Button | undefined).find((a) => a?.action_id === 'gitlab_link');
    expect(link?.url).toBe('https://greenlight.example.com/oauth/start');
    const without = JSON.stringify(
      renderHome(home({ linkMode: 'oauth', link: { kind: 'unlinked' }, forYou: null })).blocks,
    );
    expect(without).toContain('`/deploys link`');
  });

  it('has the DM setting as a toggle button', () => {
    const toggle = (on: boolean) =>
      renderHome(home({ dmEnabled: on }))
        .blocks.map((b) => b.accessory as Button | undefined)
        .find((a) => a?.action_id === 'home_dm_toggle')!;
    expect(toggle(false)).toMatchObject({ value: 'on', text: { text: 'Turn on' } });
    expect(toggle(true)).toMatchObject({ value: 'off', text: { text: 'Turn off' } });
  });
});

describe('approver DMs', () => {
  it('offer the card’s buttons while the person can act, and only Open in GitLab afterwards', () => {
    const dm = renderDm({ row: row(), state: 'waiting', canAct: true, headline: 'Waiting for your approval.' });
    expect(dm.text).toBe('acme/web → production: Waiting for your approval.');
    expect(buttons(dm.blocks).map((b) => b.action_id)).toEqual([
      'deploy_approve',
      'deploy_reject',
      'deploy_open_gitlab',
    ]);
    expect(validateBlocks(dm.blocks, 'message')).toEqual([]);
    const done = renderDm({
      row: row(),
      state: 'approved',
      canAct: false,
      headline: 'Fully approved; it waits for someone to run it.',
    });
    expect(buttons(done.blocks).map((b) => b.action_id)).toEqual(['deploy_open_gitlab']);
    expect(JSON.stringify(done.blocks)).toContain('Requested <!date^');
  });
});
