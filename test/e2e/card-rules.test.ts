import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeGroup, FakeUser } from '../fakes/fake-gitlab.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown>;
type Button = { action_id: string; value?: string; url?: string };
const buttonsOf = (blocks: Block[]): Button[] =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);
/** One section per approval rule (block ids dep-<id>-r<index>-v<version>). */
const rulesOf = (blocks: Block[]): string[] =>
  (blocks.filter((b) => /-r\d+-v\d+$/.test(String(b.block_id))) as Array<{ text: { text: string } }>).map(
    (b) => b.text.text,
  );

/**
 * Several approval rules: the project's own (Maintainers, 1) and one from a group-level protected
 * environment on the production tier (qa-group, 1). carol is in both rules, alice only in Maintainers.
 */
describe('cards with several approval rules (sudo mode)', () => {
  let world: World;
  let app: TestApp;
  let qa: FakeGroup;
  let erin: FakeUser;
  let dan: FakeUser;

  beforeAll(async () => {
    world = await startWorld();
    const { gitlab, project } = world;
    const acme = project.groupId!;
    qa = gitlab.addGroup({ path: 'qa', name: 'qa-group', parentId: acme });
    gitlab.addGroupMember(qa.id, world.carol.id, 30);
    // alice may deploy under the group-level entry too (its deployers: Maintainers of acme).
    gitlab.addGroupMember(acme, world.alice.id, 40);
    // erin is in both rules, but has no Slack account when the cards are drawn.
    erin = gitlab.addUser({ username: 'erin', name: 'Erin Both', email: 'erin@acme.test' });
    gitlab.addProjectMember(project.id, erin.id, 40);
    gitlab.addGroupMember(qa.id, erin.id, 30);
    // dan is a Developer: he may click, but GitLab does not let him deploy.
    dan = gitlab.addUser({ username: 'dan', name: 'Dan Dev', email: 'dan@acme.test' });
    gitlab.addProjectMember(project.id, dan.id, 30);
    world.slack.addUser({ id: 'U0DAN', name: 'dan', email: 'dan@acme.test' });
    gitlab.protectGroupEnvironment(acme, 'production', { approvalRules: [{ groupId: qa.id, requiredApprovals: 1 }] });
    gitlab.protectEnvironment(project.id, 'staging', { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
    app = await startTestApp({
      env: world.env,
      name: 'e2e-rules',
      policy: 'routes:\n  - match: { environment: staging }\n    run_after_approval: "off"\n',
    });
    gitlab.addHook({
      projectId: project.id,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  const deploy = (environment = 'production') =>
    world.gitlab.createDeployment({ projectId: world.project.id, environment, userId: world.bob.id });
  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for deployment ${deploymentId}` },
    );
  const cardWhere = (ts: string, what: string, test: (m: { text: string; blocks: Block[] }) => boolean) =>
    waitFor(
      () => {
        const m = world.slack.message(CHANNEL, ts);
        return m && test(m) ? m : undefined;
      },
      { what },
    );
  const callsFor = (deploymentId: number) =>
    world.gitlab.approvalCalls().filter((c) => c.path.includes(`/deployments/${deploymentId}/`));
  const ephemeralTo = (userId: string, pattern: RegExp) =>
    waitFor(() => world.slack.ephemerals({ user: userId }).find((e) => pattern.test(e.text ?? '')), {
      what: `ephemeral ${pattern} to ${userId}`,
    });
  const { alice, carol } = { alice: 'U0456ALICE', carol: 'U0321CAROL' };

  it('shows every rule, the group-level one too, and mentions who can still approve each', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    expect(card.text).toContain('0 of 2 approvals');
    expect(rulesOf(card.blocks)).toEqual([
      `:hourglass_flowing_sand: *Maintainers*: 0 of 1 — can approve: <@${alice}>, <@${carol}> and 1 more`,
      `:hourglass_flowing_sand: *qa-group*: 0 of 1 — can approve: <@${carol}> and 1 more`,
    ]);
  });

  it(
    'asks an approver who fits both rules which one, and ' + 'records the approval for that rule with represented_as',
    async () => {
      const d = deploy();
      const card = await cardFor(d.id);
      const click = await world.slack.clickButton(app.url, {
        userId: carol,
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      expect(click.timedOut).toBe(false);
      const view = await waitFor(
        () => {
          const v = world.slack.lastView(carol);
          return v?.view.callback_id === 'deploy_approve_modal' && v.open ? v : undefined;
        },
        { what: 'approve modal' },
      );
      expect(JSON.stringify(view.view.blocks)).toContain('qa-group');
      expect(callsFor(d.id)).toHaveLength(0);

      const submitted = await world.slack.submitView(app.url, {
        userId: carol,
        values: { rule: { rule_choice: '1' }, comment: { comment_input: 'QA passed' } },
      });
      expect(submitted.outcome).toBe('closed');
      await waitFor(() => callsFor(d.id).length === 1, { what: 'approval call' });
      expect(callsFor(d.id)[0]).toMatchObject({
        actingUser: { username: 'carol' },
        status: 201,
        body: { status: 'approved', represented_as: 'qa-group', comment: 'QA passed' },
      });

      const updated = await cardWhere(card.ts, 'qa-group satisfied on the card', (m) =>
        rulesOf(m.blocks).some((l) => l.startsWith(':white_check_mark: *qa-group*')),
      );
      expect(rulesOf(updated.blocks)).toEqual([
        `:hourglass_flowing_sand: *Maintainers*: 0 of 1 — can approve: <@${alice}> and 1 more`,
        `:white_check_mark: *qa-group*: 1 of 1 — <@${carol}> “QA passed”`,
      ]);
      await ephemeralTo(carol, /You approved/);
    },
  );

  it(
    'asks with buttons when the worker finds several rules ' +
      'the card did not know about (linked since it was drawn)',
    async () => {
      const d = deploy();
      const card = await cardFor(d.id);
      world.slack.addUser({ id: 'U0ERIN', name: 'erin', email: 'erin@acme.test' });
      await world.slack.clickButton(app.url, {
        userId: 'U0ERIN',
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      });
      const question = await ephemeralTo('U0ERIN', /more than one approval rule/);
      expect(JSON.stringify(question.blocks)).toContain('Approve for qa-group');
      expect(world.slack.lastView('U0ERIN')).toBeUndefined();
      expect(callsFor(d.id)).toHaveLength(0);

      await world.slack.clickEphemeralButton(app.url, { userId: 'U0ERIN', actionId: 'deploy_approve_as_1' });
      await waitFor(() => callsFor(d.id).length === 1, { what: 'approval call' });
      expect(callsFor(d.id)[0]).toMatchObject({
        actingUser: { username: 'erin' },
        body: { status: 'approved', represented_as: 'qa-group' },
      });
      await cardWhere(card.ts, 'qa-group satisfied', (m) =>
        rulesOf(m.blocks).some((l) => l.startsWith(':white_check_mark: *qa-group*')),
      );
    },
  );

  it(
    'offers Run deployment once every rule is met; GitLab ' + 'refuses a Developer (403), a Maintainer runs it',
    async () => {
      const d = deploy();
      const card = await cardFor(d.id);
      world.gitlab.approveInUi(d.id, world.carol.id, 'approved', null, 'qa-group');
      world.gitlab.approveInUi(d.id, world.alice.id, 'approved');
      const approved = await cardWhere(card.ts, 'approved card with Run', (m) =>
        buttonsOf(m.blocks).some((b) => b.action_id === 'deploy_run'),
      );
      expect(approved.text).toMatch(/^Approved/);
      expect(rulesOf(approved.blocks).every((l) => l.startsWith(':white_check_mark:'))).toBe(true);

      await world.slack.clickButton(app.url, {
        userId: 'U0DAN',
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_run',
      });
      await ephemeralTo('U0DAN', /not allowed to deploy to this environment/);
      expect(world.gitlab.getDeployment(d.id)!.status).toBe('blocked');

      await world.slack.clickButton(app.url, { userId: alice, channel: CHANNEL, ts: card.ts, actionId: 'deploy_run' });
      await waitFor(() => world.gitlab.getDeployment(d.id)?.status === 'running', { what: 'job played by alice' });
      await cardWhere(card.ts, 'running card', (m) => /^Deploying/.test(m.text));
    },
  );

  it('offers no Run button where run_after_approval is off', async () => {
    const d = deploy('staging');
    const card = await cardFor(d.id);
    world.gitlab.approveInUi(d.id, world.carol.id, 'approved');
    const approved = await cardWhere(card.ts, 'approved staging card', (m) => /^Approved/.test(m.text));
    expect(buttonsOf(approved.blocks).map((b) => b.action_id)).toEqual(['deploy_open_gitlab']);
  });
});
