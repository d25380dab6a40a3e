// The Home tab in oauth mode: the Link button is the account-link flow's own signed start URL; once
// linked, the tab knows the person and shows what waits for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { linkInBrowser, oauthEnv, PUBLIC_URL } from '../helpers/oauth.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown>;
type Accessory = { action_id?: string; url?: string };

describe('Home tab, oauth mode', () => {
  let world: World;
  let app: TestApp;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    app = await startTestApp({
      env: oauthEnv(world),
      name: 'e2e-home-oauth',
      options: { clock: { now: () => world.gitlab.now() } },
    });
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
    await world?.gitlab.webhooksIdle();
    await app?.stop();
    await world?.close();
  });

  const home = (userId: string, check: (json: string) => boolean, what: string) =>
    waitFor(
      () => {
        const view = world.slack.homeView(userId)?.view as { blocks: Block[] } | undefined;
        return view && check(JSON.stringify(view.blocks)) ? view.blocks : undefined;
      },
      { what },
    );

  it('offers the Link button to someone not linked, and shows what waits for them once linked', async () => {
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    await waitFor(() => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === d.id), {
      what: 'card',
    });

    await world.slack.openHome(app.url, world.slackIds.alice);
    const before = await home(
      world.slackIds.alice,
      (j) => j.includes('not linked yet'),
      'Home tab with the Link button',
    );
    const link = before.map((b) => b.accessory as Accessory | undefined).find((a) => a?.action_id === 'gitlab_link');
    expect(link?.url).toMatch(new RegExp(`^${PUBLIC_URL}/oauth/gitlab/start\\?t=`));
    expect(JSON.stringify(before)).toContain('All pending (1)');

    const linked = await linkInBrowser(app.url, world, link!.url!, {
      slack: world.slackIds.alice,
      gitlab: world.alice.id,
    });
    expect(linked.status).toBe(200);
    await world.slack.openHome(app.url, world.slackIds.alice);
    const after = await home(
      world.slackIds.alice,
      (j) => j.includes('found by your linked account'),
      'Home tab after linking',
    );
    expect(JSON.stringify(after)).toContain('Waiting for you (1)');
    expect(after.some((b) => (b.accessory as Accessory | undefined)?.action_id === 'gitlab_link')).toBe(false);
  });

  it('asks people to link before `/deploys mine`', async () => {
    const result = await world.slack.sendCommand(app.url, {
      userId: world.slackIds.carol,
      channelId: CHANNEL,
      text: 'mine',
    });
    const post = await waitFor(() => world.slack.responses(result.responseUrl)[0], { what: 'answer' });
    expect((post.body as { text: string }).text).toContain('`/deploys link`');
  });
});
