import { describe, expect, it } from 'vitest';
import { buildCardModel, type Person } from '../../../src/core/cards/card-model.ts';
import { renderCard } from '../../../src/adapters/slack/card-blocks.ts';
import { approvedBy, rejectedBy, waitingDeployment, alice } from '../../fixtures/deployments.ts';
import type { Deployment } from '../../../src/core/deployments/deployment.ts';
import { classify } from '../../../src/core/deployments/deployment.ts';

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

async function render(d: Deployment, version = 1) {
  return renderCard(await buildCardModel(d, { state: classify(d)!, version, route, people }));
}

describe('approval card blocks', () => {
  it(
    'shows project, environment and tier, ref and sha, commit, ' +
      'pipeline and job, who triggered, approvals and buttons',
    async () => {
      const { text, blocks } = await render(waitingDeployment());
      expect(text).toBe('Deployment approval needed: acme/web → production (0 of 1 approvals)');
      const json = JSON.stringify(blocks);
      for (const part of [
        'acme/web',
        'production',
        '`main`',
        '1a2b3c4d',
        'Add login page',
        '#98765',
        'deploy-prod',
        'Bob Builder (@bob)',
        '0 of 1 required',
      ])
        expect(json).toContain(part);
      const actions = blocks.find((b) => b.type === 'actions') as {
        elements: Array<{ action_id: string; confirm?: unknown; value?: string }>;
      };
      expect(actions.elements.map((e) => e.action_id)).toEqual([
        'deploy_approve',
        'deploy_reject',
        'deploy_open_gitlab',
      ]);
      expect(actions.elements[0]!.confirm).toBeDefined();
      expect(JSON.parse(actions.elements[0]!.value!)).toEqual({ d: 4711, p: 42, v: 1 });
    },
  );

  it('changes every block_id with the version so Slack clients redraw', async () => {
    const v1 = (await render(waitingDeployment(), 1)).blocks.map((b) => b.block_id);
    const v2 = (await render(waitingDeployment(), 2)).blocks.map((b) => b.block_id);
    expect(v1.every((id, i) => id !== v2[i])).toBe(true);
  });

  it('mentions people whose Slack account is known and escapes what users wrote', async () => {
    const d = approvedBy(
      waitingDeployment({ commit: { title: 'Fix <script> & "quotes"', webUrl: null, authorEmail: null } }),
      alice,
      'ok <@U0EVIL>',
    );
    const json = JSON.stringify((await render(d)).blocks);
    expect(json).toContain('<@U0ALICE>');
    expect(json).toContain('Fix &lt;script&gt; &amp;');
    expect(json).not.toContain('<@U0EVIL>');
  });

  it('a resolved card keeps no Approve or Reject button', async () => {
    for (const d of [
      rejectedBy(waitingDeployment(), alice, 'no'),
      waitingDeployment({ status: 'success', pendingApprovalCount: 0 }),
      waitingDeployment({ status: 'canceled', pendingApprovalCount: 0 }),
    ]) {
      const ids = JSON.stringify((await render(d)).blocks);
      expect(ids).not.toContain('deploy_approve');
      expect(ids).not.toContain('deploy_reject');
    }
  });

  it('stays within Block Kit limits with very long names', async () => {
    const long = 'x'.repeat(5000);
    const { blocks, text } = await render(
      waitingDeployment({
        ref: long,
        commit: { title: long, webUrl: null, authorEmail: null },
        project: { id: 42, path: `acme/${long}`, name: 'n', webUrl: 'https://x' },
      }),
    );
    expect(text.length).toBeLessThanOrEqual(3000);
    const header = blocks[0] as { text: { text: string } };
    expect(header.text.text.length).toBeLessThanOrEqual(150);
    for (const f of (blocks[1] as { fields: Array<{ text: string }> }).fields)
      expect(f.text.length).toBeLessThanOrEqual(2000);
  });
});
