import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProject } from '../fakes/fake-gitlab.ts';
import { slackDate } from '../../src/adapters/slack/mrkdwn.ts';
import { appIdle, startTestApp, type TestApp } from '../helpers/app.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown> & { block_id?: string };
type Section = Block & {
  text?: { text: string };
  elements?: Array<{ text: string }>;
  accessory?: { action_id: string };
};

const partOf = (blocks: Block[], part: string) =>
  blocks.find((b) => String(b.block_id).includes(`-${part}-`)) as Section | undefined;
const whatChanges = (m: { blocks: Block[] }) => {
  const b = partOf(m.blocks, 'w');
  return b?.text?.text ?? b?.elements?.[0]?.text ?? null;
};
const ready = (m: { blocks: Block[] }) => {
  const text = whatChanges(m);
  return text !== null && !text.includes('being read');
};
const texts = (blocks: Block[]): string[] =>
  blocks.flatMap((b) => [
    ...((b as Section).text ? [(b as Section).text!.text] : []),
    ...(((b as Section).elements ?? []) as Array<{ text?: string }>).flatMap((e) => (e.text ? [e.text] : [])),
  ]);

/**
 * What a deployment changes, on the card, in the lists and in the Changes modal, against the real app (sudo
 * mode, GitLab 19.3+ hooks). acme/web: history made of merge requests; acme/frozen: a deploy freeze in effect
 * now; acme/heavy: `changes: off`. Every test deploys to an environment of its own, most after an earlier
 * successful deployment there.
 */
describe('what the deployment changes', () => {
  let world: World;
  let app: TestApp;
  let frozen: FakeProject;
  let heavy: FakeProject;
  let redis: Redis;
  let environments = 0;

  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for ${deploymentId}` },
    );
  const settledCard = async (deploymentId: number, what = 'the card with its changes') => {
    const card = await cardFor(deploymentId);
    return waitFor(
      () => {
        const m = world.slack.message(CHANNEL, card.ts);
        return m && ready(m) ? m : undefined;
      },
      { what },
    );
  };
  /** A protected environment whose last successful deployment (made before it was protected) is returned. */
  const environmentDeployedAt = (project: FakeProject, sha?: string) => {
    environments += 1;
    const environment = `changes-${environments}`;
    const before = world.gitlab.createDeployment({
      projectId: project.id,
      environment,
      userId: world.bob.id,
      commitTitle: 'What runs there now',
      ...(sha !== undefined && { sha }),
    });
    world.gitlab.finishJob(before.jobId, 'success');
    world.gitlab.protectEnvironment(project.id, environment, {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    return { environment, before };
  };
  const hook = (projectId: number) =>
    world.gitlab.addHook({
      projectId,
      url: `${app.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });
  const requestsTo = (pattern: RegExp) => world.gitlab.requests.filter((r) => pattern.test(r.path));

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    frozen = world.gitlab.addProject({ pathWithNamespace: 'acme/frozen' });
    heavy = world.gitlab.addProject({ pathWithNamespace: 'acme/heavy' });
    for (const p of [frozen, heavy])
      for (const u of [world.alice, world.bob, world.carol]) world.gitlab.addProjectMember(p.id, u.id, 40);
    app = await startTestApp({
      env: world.env,
      name: 'e2e-changes',
      policy: 'routes:\n  - match: { project: acme/heavy }\n    changes: "off"\n',
    });
    for (const p of [world.project, frozen, heavy]) hook(p.id);
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await world?.gitlab.webhooksIdle();
    await app?.stop();
    await world?.close();
  });

  it('says "first deployment to this environment" when nothing ran there yet, with no Changes button', async () => {
    environments += 1;
    const environment = `changes-${environments}`;
    world.gitlab.protectEnvironment(world.project.id, environment, {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    const d = world.gitlab.createDeployment({ projectId: world.project.id, environment, userId: world.bob.id });
    const card = await settledCard(d.id);
    expect(whatChanges(card)).toBe('*What changes:* first deployment to this environment');
    expect(partOf(card.blocks, 'w')!.accessory).toBeUndefined();
  });

  it(
    'shows what runs there now, the commits since with a compare link, the merge requests they came in ' +
      'through (title, !iid link, author) and that the tests passed; the same in one line in /deploys, the ' +
      'Home tab and DMs',
    async () => {
      const { gitlab, project, alice, carol } = world;
      await world.slack.openHome(app.url, world.slackIds.carol);
      await waitFor(() => world.slack.homeView(world.slackIds.carol), { what: 'carol’s Home tab' });
      await world.slack.clickHomeButton(app.url, { userId: world.slackIds.carol, actionId: 'home_dm_toggle' });
      await waitFor(
        () => JSON.stringify(world.slack.homeView(world.slackIds.carol)?.view).includes('Direct messages: on.'),
        {
          what: 'DMs on for carol',
        },
      );
      const { environment, before } = environmentDeployedAt(project);
      const login = gitlab.mergeMergeRequest(project.id, { title: 'Add login <form> & *stars*', authorId: alice.id });
      const squashed = gitlab.mergeMergeRequest(project.id, {
        title: 'Faster search',
        authorId: carol.id,
        method: 'squash',
      });
      const ff = gitlab.mergeMergeRequest(project.id, { title: 'Fix typo', authorId: alice.id, method: 'ff' });
      gitlab.pushCommits(project.id, { commits: [{ title: 'Hotfix pushed to main' }] });
      const d = gitlab.createDeployment({
        projectId: project.id,
        environment,
        userId: world.bob.id,
        pipelineJobs: [
          { name: 'lint', status: 'success' },
          { name: 'unit', status: 'success' },
        ],
      });

      const card = await settledCard(d.id);
      const web = `${gitlab.url}/acme/web`;
      const mr = (iid: number) => `<${web}/-/merge_requests/${iid}|!${iid}>`;
      // merge commit + its source commit, the squash commit, the fast-forwarded commit, the hotfix, the deployed one
      expect(whatChanges(card)!.split('\n')).toEqual([
        `*What changes:* <${web}/-/compare/${before.sha}...${d.sha}|6 commits> in 3 merge requests`,
        `Runs there now: \`main\` @ \`${before.sha.slice(0, 8)}\`, deployed ` +
          `${slackDate(gitlab.getDeployment(before.id)!.finishedAt!)} by Bob Builder`,
        `• ${mr(ff.iid)} Fix typo — Alice Approver`,
        `• ${mr(squashed.iid)} Faster search — Carol QA`,
        `• ${mr(login.iid)} Add login &lt;form&gt; &amp; *stars* — Alice Approver`,
        `:white_check_mark: <${web}/-/pipelines/${d.pipelineId}|Pipeline>: tests passed (2 jobs)`,
      ]);
      expect(partOf(card.blocks, 'w')!.accessory).toMatchObject({ action_id: 'deploy_changes' });

      const line = `<${web}/-/compare/${before.sha}...${d.sha}|6 commits>, 3 MRs · tests passed`;
      const listed = await world.slack.sendCommand(app.url, {
        userId: world.slackIds.alice,
        channelId: CHANNEL,
        text: environment,
      });
      const answer = await waitFor(() => world.slack.responses(listed.responseUrl!)[0], { what: '/deploys answer' });
      expect(texts((answer.body as { blocks: Block[] }).blocks).join('\n')).toContain(line);

      await world.slack.openHome(app.url, world.slackIds.alice);
      await waitFor(
        () =>
          texts((world.slack.homeView(world.slackIds.alice)?.view.blocks ?? []) as Block[]).some((t) =>
            t.includes(line),
          ),
        {
          what: 'the line on the Home tab',
        },
      );
      await waitFor(
        () =>
          world.slack
            .dms(world.slackIds.carol)
            .find((m) => m.blocks[0]?.block_id === `dm-${d.id}-h` && texts(m.blocks).some((t) => t.includes(line))),
        { what: 'the line in carol’s DM' },
      );
    },
  );

  it('says "rollback to …" when the deployment goes back to an older commit', async () => {
    const { gitlab, project } = world;
    const [older, newer] = gitlab.pushCommits(project.id, { commits: [{ title: 'Older' }, { title: 'Newer' }] });
    const { environment } = environmentDeployedAt(project, newer!.sha);
    const d = gitlab.createDeployment({ projectId: project.id, environment, userId: world.bob.id, sha: older!.sha });
    const card = await settledCard(d.id);
    const web = `${gitlab.url}/acme/web`;
    expect(whatChanges(card)!.split('\n')[0]).toBe(
      `*What changes:* :rewind: rollback to the older \`${older!.sha.slice(0, 8)}\`, ` +
        `taking back <${web}/-/compare/${older!.sha}...${newer!.sha}|1 commit>`,
    );
    expect(whatChanges(card)).toContain(`Runs there now: \`main\` @ \`${newer!.sha.slice(0, 8)}\``);
  });

  it('says prominently, under the headline, that a deploy freeze is in effect and when it ends', async () => {
    // a daily freeze from an hour ago to an hour from now (UTC, minute precision)
    const now = new Date(world.gitlab.now());
    const cron = (d: Date) => `${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
    const start = new Date(now.getTime() - 3_600_000);
    const end = new Date(now.getTime() + 3_600_000);
    world.gitlab.addFreezePeriod(frozen.id, { freezeStart: cron(start), freezeEnd: cron(end), cronTimezone: 'UTC' });
    const { environment } = environmentDeployedAt(frozen);
    const d = world.gitlab.createDeployment({ projectId: frozen.id, environment, userId: world.bob.id });
    const card = await settledCard(d.id);
    const endsAt = new Date(end);
    endsAt.setUTCSeconds(0, 0);
    // right under the headline
    expect(card.blocks[1]!.block_id).toMatch(new RegExp(`^dep-${d.id}-z-`));
    const freeze = (card.blocks[1] as Section).text!.text;
    expect(freeze).toContain(`:snowflake: *Deploy freeze in effect until ${slackDate(endsAt.getTime())}.*`);
    expect(freeze).toContain(`(\`${cron(start)}\` to \`${cron(end)}\`, UTC)`);
  });

  it('says which jobs of the pipeline failed', async () => {
    const { environment } = environmentDeployedAt(world.project);
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment,
      userId: world.bob.id,
      pipelineJobs: [
        { name: 'lint', status: 'success' },
        { name: 'unit', status: 'failed' },
        { name: 'e2e', status: 'failed' },
        { name: 'flaky', status: 'failed', allowFailure: true },
      ],
    });
    const card = await settledCard(d.id);
    expect(whatChanges(card)!.split('\n').at(-1)).toBe(
      `:x: <${world.gitlab.url}/acme/web/-/pipelines/${d.pipelineId}|Pipeline>: 2 jobs failed: unit, e2e`,
    );
  });

  it('sends the card without waiting for a slow GitLab, and the next update adds the summary', async () => {
    const { environment } = environmentDeployedAt(world.project);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    world.gitlab.failNext({
      path: new RegExp(`^/api/v4/projects/${world.project.id}/repository/commits$`),
      until: held,
    });
    const d = world.gitlab.createDeployment({ projectId: world.project.id, environment, userId: world.bob.id });
    const card = await cardFor(d.id);
    // posted while GitLab still holds the commits: it says the changes are being read
    expect(whatChanges(card.history[0]!)).toBe('*What changes:* being read from GitLab…');
    expect(requestsTo(/\/repository\/commits$/).at(-1)!.status).toBe(0);
    release();
    const updated = await settledCard(d.id, 'the card updated with its changes');
    expect(whatChanges(updated)).toMatch(/^\*What changes:\* <[^|]+\|1 commit>/);
    expect(updated.history.length).toBeGreaterThan(1);
  });

  it('clips a huge range to what Slack takes, and escapes what people wrote', async () => {
    const { gitlab, project, alice } = world;
    const { environment } = environmentDeployedAt(project);
    const long = (i: number) => `Commit ${i} <!channel> ${'x'.repeat(400)}`;
    gitlab.pushCommits(project.id, { commits: Array.from({ length: 120 }, (_, i) => ({ title: long(i) })) });
    for (let i = 0; i < 8; i += 1)
      gitlab.mergeMergeRequest(project.id, {
        title: `MR ${i} <@U0456ALICE> ${'y'.repeat(600)}`,
        authorId: alice.id,
        method: 'squash',
      });
    const d = gitlab.createDeployment({ projectId: project.id, environment, userId: world.bob.id });
    const card = await settledCard(d.id);
    const text = whatChanges(card)!;
    expect(text).toMatch(/^\*What changes:\* <[^|]+\|100\+ commits> in 8 merge requests/);
    expect(text).toContain('and 3 more merge requests');
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(card.blocks.length).toBeLessThanOrEqual(50);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U0456ALICE>');
    expect(text).toContain('MR 7 &lt;@U0456ALICE&gt; yyy');

    await world.slack.clickButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_changes',
    });
    const modal = await waitFor(
      () => {
        const v = world.slack.lastView(world.slackIds.alice);
        return v?.view.callback_id === 'deploy_changes_modal' && JSON.stringify(v.view.blocks).includes('Commits (')
          ? v
          : undefined;
      },
      { what: 'the Changes modal' },
    );
    const blocks = modal.view.blocks as Block[];
    expect(blocks.length).toBeLessThanOrEqual(100);
    const modalTexts = texts(blocks);
    for (const t of modalTexts) expect(t.length).toBeLessThanOrEqual(3000);
    expect(modalTexts.join('\n').match(/^<[^|]+\|[0-9a-f]{8}> /gm)).toHaveLength(50);
    expect(modalTexts.join('\n')).toContain('Showing the newest 50');
    expect(modalTexts.join('\n')).not.toContain('<!channel>');
  });

  it(
    'opens the Changes modal with the merge requests and the commits with their ' +
      'authors, also once the list is no longer kept',
    async () => {
      const { gitlab, project, carol } = world;
      const { environment, before } = environmentDeployedAt(project);
      const feature = gitlab.mergeMergeRequest(project.id, {
        title: 'Checkout v2',
        authorId: carol.id,
        commits: [
          { title: 'Cart API', author: { name: 'Carol QA', email: 'carol@acme.test' } },
          { title: 'Cart UI', author: { name: 'Dan Dev', email: 'dan@acme.test' } },
        ],
      });
      const d = gitlab.createDeployment({ projectId: project.id, environment, userId: world.bob.id });
      const card = await settledCard(d.id);
      const open = async () => {
        const opens = world.slack.callsTo('views.open').length;
        await world.slack.clickButton(app.url, {
          userId: world.slackIds.alice,
          channel: CHANNEL,
          ts: card.ts,
          actionId: 'deploy_changes',
        });
        await waitFor(() => world.slack.callsTo('views.open').length > opens, { what: 'views.open' });
        return waitFor(
          () => {
            const v = world.slack.lastView(world.slackIds.alice);
            return v && JSON.stringify(v.view.blocks).includes('Commits (') ? v : undefined;
          },
          { what: 'the modal with the list' },
        );
      };
      const lines = (v: { view: Record<string, unknown> }) =>
        texts(v.view.blocks as Block[])
          .join('\n')
          .split('\n');
      const web = `${gitlab.url}/acme/web`;
      const expected = [
        `• <${web}/-/merge_requests/${feature.iid}|!${feature.iid}> Checkout v2 — Carol QA`,
        expect.stringMatching(/\|[0-9a-f]{8}> Update deployment — Bob Builder$/),
        expect.stringMatching(
          new RegExp(
            `\\|[0-9a-f]{8}> Merge branch 'feature-${feature.iid}' into 'main' — Carol QA \\(!${feature.iid}\\)$`,
          ),
        ),
        expect.stringMatching(new RegExp(`\\|[0-9a-f]{8}> Cart UI — Dan Dev \\(!${feature.iid}\\)$`)),
        expect.stringMatching(/\|[0-9a-f]{8}> Cart API — Carol QA$/),
      ];
      const first = await open();
      expect(lines(first).filter((l) => l.startsWith('•') || l.startsWith('<'))).toEqual(expected);

      // the kept range expired: the modal opens at once, reads GitLab, and is updated with the list
      const commitsBefore = requestsTo(/\/repository\/commits$/).length;
      const keys = await redis.keys(`{${app.prefix}}:changes:${project.id}:${before.sha}..${d.sha}`);
      expect(keys).toHaveLength(1);
      await redis.del(keys[0]!);
      const second = await open();
      expect(world.slack.callsTo('views.update').length).toBeGreaterThan(0);
      expect(lines(second).filter((l) => l.startsWith('•') || l.startsWith('<'))).toEqual(expected);
      expect(requestsTo(/\/repository\/commits$/).length).toBeGreaterThan(commitsBefore);
    },
  );

  it('reads nothing of it for a route with `changes: off`', async () => {
    const { environment } = environmentDeployedAt(heavy);
    const d = world.gitlab.createDeployment({ projectId: heavy.id, environment, userId: world.bob.id });
    const card = await cardFor(d.id);
    await world.gitlab.webhooksIdle();
    await appIdle(app); // every sync those hooks asked for has run: what it did not read, it will not read
    const settled = await waitFor(() => world.slack.message(CHANNEL, card.ts), { what: 'the card' });
    expect(partOf(settled.blocks, 'w')).toBeUndefined();
    expect(partOf(settled.blocks, 'z')).toBeUndefined();
    expect(
      requestsTo(new RegExp(`^/api/v4/projects/${heavy.id}/(repository|merge_requests|freeze_periods|pipelines)`)),
    ).toEqual([]);
  });
});
