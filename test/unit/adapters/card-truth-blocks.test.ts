import { describe, expect, it } from 'vitest';
import { approveModal } from '../../../src/adapters/slack/approve-modal.ts';
import { MAX_MENTIONS_PER_RULE, renderCard } from '../../../src/adapters/slack/card-blocks.ts';
import { renderNotice } from '../../../src/adapters/slack/notice-blocks.ts';
import { chooseRuleNotice } from '../../../src/core/approvals/notices.ts';
import { buildCardModel, type OpenRule, type Person } from '../../../src/core/cards/card-model.ts';
import { classify, type Deployment } from '../../../src/core/deployments/deployment.ts';
import { validateBlocks, validateView } from '../../fakes/fake-slack/block-kit.ts';
import { alice, approval, rule, waitingDeployment } from '../../fixtures/deployments.ts';

const route = {
  channel: 'C1',
  reminders: null,
  escalation: [],
  workingHours: null,
  runAfterApproval: 'button' as const,
};
const people = async (u: { name: string; username: string }): Promise<Person> => ({
  name: u.name,
  username: u.username,
  slackUserId: u.username === 'alice' ? 'U0ALICE' : null,
});
const person = (i: number, linked = true): Person => ({
  name: `User ${i}`,
  username: `u${i}`,
  slackUserId: linked ? `U0USER${i}` : null,
});

const maintainers = rule({ id: 1, name: 'Maintainers', required: 1 });
const qa = rule({ id: 2, name: 'qa-group', accessLevel: null, groupId: 9, required: 2 });
const d = waitingDeployment({
  pendingApprovalCount: 2,
  rules: [{ ...maintainers, approvals: [approval(alice, 'approved', 'LGTM')] }, qa],
  approvals: [approval(alice, 'approved', 'LGTM')],
});

async function rulesSection(
  deployment: Deployment,
  openRules: OpenRule[],
  opts: { state?: ReturnType<typeof classify>; supersededBy?: { id: number; url: string } } = {},
) {
  const model = await buildCardModel(deployment, {
    state: opts.state ?? classify(deployment)!,
    version: 3,
    route,
    people,
    openRules,
    ...(opts.supersededBy && { supersededBy: opts.supersededBy }),
  });
  const message = renderCard(model);
  expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  // one section per rule (block ids dep-<id>-r<index>-v<version>), joined here line by line
  const sections = message.blocks.filter((b) => /-r\d+-v\d+$/.test(String(b.block_id))) as Array<{
    text: { text: string };
  }>;
  return { text: sections.map((b) => b.text.text).join('\n'), message, sections };
}

describe('card: per-rule progress and who can still approve', () => {
  it(
    'shows each rule with its count, who approved with ' + 'their comment, and who can still approve the open ones',
    async () => {
      const { text } = await rulesSection(d, [
        { name: 'qa-group', missing: 2, people: [person(1), person(2, false)], more: 3, known: true },
      ]);
      expect(text.split('\n')).toEqual([
        ':white_check_mark: *Maintainers*: 1 of 1 — <@U0ALICE> “LGTM”',
        ':hourglass_flowing_sand: *qa-group*: 0 of 2 — can approve: <@U0USER1> and 4 more',
      ]);
    },
  );

  it('caps the mentions per rule and counts the rest', async () => {
    const many = Array.from({ length: 12 }, (_, i) => person(i));
    const { text } = await rulesSection(d, [{ name: 'qa-group', missing: 2, people: many, more: 8, known: true }]);
    expect(text.match(/<@U0USER\d+>/g)).toHaveLength(MAX_MENTIONS_PER_RULE);
    expect(text).toContain(`and ${20 - MAX_MENTIONS_PER_RULE} more`);
  });

  it('says so when nobody who can approve is linked to Slack, or nobody is left at all', async () => {
    expect(
      (await rulesSection(d, [{ name: 'qa-group', missing: 2, people: [person(1, false)], more: 2, known: true }]))
        .text,
    ).toContain('*qa-group*: 0 of 2 — 3 people in GitLab can approve, none linked to Slack');
    expect(
      (await rulesSection(d, [{ name: 'qa-group', missing: 2, people: [], more: 0, known: true }])).text,
    ).toContain('nobody left in this rule who can approve');
    expect((await rulesSection(d, [{ name: 'qa-group', missing: 2, people: [], more: 0, known: false }])).text).toMatch(
      /\*qa-group\*: 0 of 2$/,
    );
  });

  it('stays within Block Kit limits with many rules and long names', async () => {
    const rules = Array.from({ length: 30 }, (_, i) =>
      rule({ id: i, name: `group-${'x'.repeat(150)}-${i}`, required: 5, accessLevel: null, groupId: i }),
    );
    const big = waitingDeployment({ pendingApprovalCount: 150, rules });
    const open = rules.map((r) => ({
      name: r.name,
      missing: 5,
      people: Array.from({ length: 5 }, (_, i) => person(i)),
      more: 40,
      known: true,
    }));
    const { sections } = await rulesSection(big, open);
    expect(sections).toHaveLength(30);
    for (const [i, b] of sections.entries()) {
      expect(b.text.text.length).toBeLessThanOrEqual(3000);
      expect(b.text.text).toContain(`-${i}*: 0 of 5 — can approve: <@U0USER0>`);
    }
  });

  it('never cuts an open rule: long comments on satisfied rules are clipped, who can still approve stays', async () => {
    const comment = 'x'.repeat(255);
    const satisfied = Array.from({ length: 4 }, (_, i) =>
      rule({
        id: 10 + i,
        name: `reviewers-${i}`,
        required: 20,
        accessLevel: null,
        groupId: 10 + i,
        approvals: Array.from({ length: 20 }, (_, j) => approval({ ...alice, id: 100 + j }, 'approved', comment)),
      }),
    );
    const security = rule({ id: 99, name: 'security', required: 1, accessLevel: null, groupId: 99 });
    const deployment = waitingDeployment({ pendingApprovalCount: 1, rules: [...satisfied, security] });
    const { sections, message } = await rulesSection(deployment, [
      { name: 'security', missing: 1, people: [person(7)], more: 0, known: true },
    ]);
    expect(sections).toHaveLength(5);
    expect(sections[4]!.text.text).toBe(':hourglass_flowing_sand: *security*: 0 of 1 — can approve: <@U0USER7>');
    for (const b of sections) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
  });

  it('keeps to 50 blocks with more rules than fit: every open rule shown, the others counted', async () => {
    const rules = Array.from({ length: 70 }, (_, i) =>
      rule({
        id: i,
        name: `group-${i}`,
        required: 1,
        accessLevel: null,
        groupId: i,
        approvals: i % 10 === 0 ? [] : [approval(alice, 'approved', 'ok')],
      }),
    );
    const deployment = waitingDeployment({ pendingApprovalCount: 7, rules });
    const open = rules
      .filter((_, i) => i % 10 === 0)
      .map((r) => ({ name: r.name, missing: 1, people: [person(1)], more: 0, known: true }));
    const { sections, message } = await rulesSection(deployment, open);
    expect(message.blocks.length).toBe(50);
    for (const i of [0, 10, 20, 30, 40, 50, 60])
      expect(sections.some((b) => b.text.text.startsWith(`:hourglass_flowing_sand: *group-${i}*`))).toBe(true);
    const more = message.blocks.find((b) => String(b.block_id).includes('-rmore-')) as {
      elements: Array<{ text: string }>;
    };
    expect(more.elements[0]!.text).toBe(`…and ${70 - sections.length} more approval rules, all satisfied: see GitLab.`);
  });

  it('shows no one to approve once the deployment no longer waits', async () => {
    const approved = { ...d, pendingApprovalCount: 0 };
    const { text } = await rulesSection(approved, [
      { name: 'qa-group', missing: 2, people: [person(1)], more: 0, known: true },
    ]);
    expect(text).not.toContain('can approve');
  });

  it('says a superseded card was replaced and links to the newer deployment', async () => {
    const { message } = await rulesSection(d, [], {
      state: 'superseded',
      supersededBy: { id: 4800, url: 'https://gitlab.example.com/acme/web/-/jobs/800' },
    });
    expect(message.text).toBe('Superseded: acme/web → production');
    expect(JSON.stringify(message.blocks)).toContain(
      'Superseded by a newer deployment to this environment: <https://gitlab.example.com/acme/web/-/jobs/800|#4800>',
    );
    const actions = message.blocks.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string }> };
    expect(actions.elements.map((e) => e.action_id)).toEqual(['deploy_open_gitlab']);
  });
});

describe('asking which rule (represented_as)', () => {
  const meta = { d: 4711, p: 42, c: 'C1', ts: '1.2', r: ['Maintainers', 'qa-group'] };

  it('opens a valid modal with one choice per rule and an optional comment', () => {
    const view = approveModal(meta, 'acme/web → production (#4711)')!;
    expect(validateView(view, 'modal')).toEqual({ ok: true });
    expect(JSON.parse(view.private_metadata as string)).toEqual(meta);
    const radio = (
      view.blocks as Array<{ element?: { type: string; options?: Array<{ value: string; text: { text: string } }> } }>
    )[1]!.element!;
    expect(radio.type).toBe('radio_buttons');
    expect(radio.options!.map((o) => [o.value, o.text.text])).toEqual([
      ['0', 'Maintainers'],
      ['1', 'qa-group'],
    ]);
  });

  it('is not offered for one rule, for more rules than radio buttons take, or when the names do not fit', () => {
    expect(approveModal({ ...meta, r: ['qa-group'] }, 's')).toBeNull();
    expect(approveModal({ ...meta, r: Array.from({ length: 11 }, (_, i) => `r${i}`) }, 's')).toBeNull();
    expect(approveModal({ ...meta, r: ['a'.repeat(1600), 'b'.repeat(1600)] }, 's')).toBeNull();
  });

  it('renders the worker’s question as one "Approve for" button per rule', () => {
    const notice = chooseRuleNotice(
      { projectId: 42, deploymentId: 4711 },
      ['Maintainers', 'qa-group'],
      'acme/web → production',
    );
    const { blocks } = renderNotice(notice);
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    const buttons = (blocks[1] as { elements: Array<{ action_id: string; value: string; text: { text: string } }> })
      .elements;
    expect(buttons.map((b) => [b.action_id, b.text.text, JSON.parse(b.value)])).toEqual([
      ['deploy_approve_as_0', 'Approve for Maintainers', { d: 4711, p: 42, r: 'Maintainers' }],
      ['deploy_approve_as_1', 'Approve for qa-group', { d: 4711, p: 42, r: 'qa-group' }],
    ]);
  });
});
