import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, freshEnvironment, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

/** What greenlight sends to Slack is what real Slack accepts (the fake refuses the same), and says no more. */
describe('Slack output that neither lies nor is refused', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    app = await startTestApp({ env: world.env, name: 'e2e-slack-output' });
    world.gitlab.addHook({
      projectId: world.project.id,
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

  const deploy = () =>
    world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: freshEnvironment(world.gitlab, world.project.id),
      userId: world.bob.id,
    });
  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for deployment ${deploymentId}` },
    );

  it("escapes the rejection comment in the message's fallback text as in its blocks", async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    world.gitlab.approveInUi(d.id, world.carol.id, 'rejected', '<!channel> do not ship & ask <@U0789BOB>');
    const rejected = await waitFor(
      () => {
        const m = world.slack.message(CHANNEL, card.ts);
        return m && /^Rejected/.test(m.text ?? '') ? m : undefined;
      },
      { what: 'rejected card' },
    );
    expect(rejected.text).toBe(
      `Rejected: acme/web → ${d.environment} by Carol QA — "&lt;!channel&gt; do not ship &amp; ask &lt;@U0789BOB&gt;"`,
    );
    expect(JSON.stringify(rejected.blocks)).not.toContain('<!channel>');
  });

  it('tells the person what GitLab said when GitLab refuses with a long error, clipped and escaped', async () => {
    const d = deploy();
    const card = await cardFor(d.id);
    const message = `Refused <script>: ${'because '.repeat(700)}end`;
    world.gitlab.failNext({ method: 'POST', path: /\/approval$/, status: 400, body: { message } });
    await world.slack.clickButton(app.url, {
      userId: world.slackIds.alice,
      channel: CHANNEL,
      ts: card.ts,
      actionId: 'deploy_approve',
    });
    const notice = await waitFor(
      () => world.slack.ephemerals({ user: world.slackIds.alice }).find((e) => /GitLab refused/.test(e.text ?? '')),
      { what: 'the notice that GitLab refused' },
    );
    const section = (notice.blocks[0] as { text: { text: string } }).text.text;
    expect(section.length).toBeLessThanOrEqual(3000);
    expect(section).toContain('Refused &lt;script&gt;: because because');
    expect(section).not.toContain('<script>');
    expect((notice.text ?? '').length).toBeLessThanOrEqual(3000);
  });
});
