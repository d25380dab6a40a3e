import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitLab, type FakeGitLab, type FakeProject, type FakeUser } from '../fakes/fake-gitlab.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.ts';
import { openBrowser, type Browser } from '../helpers/browser.ts';
import { freePort } from '../helpers/child.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const CHANNEL = 'C0123DEPLOY';
const ADMIN_TOKEN = 'glpat-setup-admin-000000000001';

/**
 * A new user's path, from an empty configuration to the first approval, in a real browser (Debian's Chromium)
 * against the fake GitLab and Slack: `./run start` serves the setup page, the person goes through it, greenlight
 * restarts into normal operation, a deployment gets its card, and an approver's click is recorded in GitLab.
 * Every action the person takes is counted.
 */
describe('the setup page, from nothing to the first approval', () => {
  let gitlab: FakeGitLab;
  let slack: FakeSlack;
  let browser: Browser;
  let proc: ChildProcess;
  let dir: string;
  let port: number;
  let console_ = '';
  let web: FakeProject;
  let docs: FakeProject;
  let bob: FakeUser;
  const prefix = uniquePrefix('setup-page');
  const actions: string[] = [];
  const act = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    actions.push(what);
    return fn();
  };

  beforeAll(async () => {
    gitlab = await startFakeGitLab({ licensePlan: 'ultimate' });
    slack = await startFakeSlack();
    slack.setScopes([]); // nothing installed yet: the app greenlight creates brings its scopes
    const admin = gitlab.addUser({ username: 'root', name: 'Administrator', admin: true });
    gitlab.addToken({ token: ADMIN_TOKEN, userId: admin.id, scopes: ['api', 'sudo'] });
    const alice = gitlab.addUser({ username: 'alice', name: 'Alice Approver', email: 'alice@acme.test' });
    bob = gitlab.addUser({ username: 'bob', name: 'Bob Builder', email: 'bob@acme.test' });
    web = gitlab.addProject({ pathWithNamespace: 'acme/web' });
    docs = gitlab.addProject({ pathWithNamespace: 'acme/docs' });
    for (const u of [alice, bob]) gitlab.addProjectMember(web.id, u.id, 40);
    gitlab.protectEnvironment(web.id, 'production', { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
    slack.addUser({ id: 'U0456ALICE', name: 'alice', email: 'alice@acme.test' });
    slack.addUser({ id: 'U0789BOB', name: 'bob', email: 'bob@acme.test' });
    slack.addChannel({ id: 'C0GENERAL1', name: 'general' });
    slack.addChannel({ id: CHANNEL, name: 'deployments' });
    browser = await openBrowser();
    dir = mkdtempSync(join(tmpdir(), 'greenlight-checkout-'));
    port = await freePort();
  });
  afterAll(async () => {
    proc?.kill('SIGTERM');
    await new Promise((resolve) => (proc?.exitCode === null ? proc.once('exit', resolve) : resolve(null)));
    await browser?.close();
    await Promise.all([gitlab?.close(), slack?.close()]);
    await cleanupPrefix(prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads as the README says: clone, ./run start, open the printed link', async () => {
    // The quick start's commands are the person's first actions (the README is part of the count).
    const quickStart = README.slice(README.indexOf('## Quick start'));
    const commands = /```sh\n([\s\S]*?)```/.exec(quickStart)![1]!.trim().split('\n');
    expect(commands).toEqual(['git clone <repository URL> greenlight && cd greenlight', './run start']);
    actions.push('git clone … && cd greenlight', './run start');
    // ./run start is bootstrap, build, then npm start with GREENLIGHT_SETUP=on: the same program, started here
    // from a directory with no .env at all
    expect(readFileSync(join(ROOT, 'run'), 'utf8')).toMatch(/GREENLIGHT_SETUP=on/);
    proc = spawn(process.execPath, [join(ROOT, 'src/main.ts')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        GREENLIGHT_SETUP: 'on',
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: prefix,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (console_ += chunk));
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (console_ += chunk));
    const link = await waitFor(() => /http:\/\/localhost:\d+\/setup\?code=\S+/.exec(console_)?.[0], {
      what: 'the setup link on the console',
      timeoutMs: 15_000,
    });
    expect(console_).toMatch(/GITLAB_TOKEN: required/);
    await act('open the printed link', () => browser.page.goto(link));
    expect(await browser.page.title()).toBe('greenlight: setup');
    // the code is exchanged for a session: it is not left in the address bar
    expect(browser.page.url()).toBe(`http://localhost:${port}/setup#gitlab`);
  });

  it('step 1 checks GitLab: token, licence, protected environments that require approvals', async () => {
    const { page } = browser;
    await page.fill('#gitlab_url', gitlab.url);
    await page.fill('#gitlab_token', ADMIN_TOKEN);
    await page.fill('#public_url', `http://127.0.0.1:${port}`);
    await act('step 1: GitLab URL, token, public URL → Check GitLab', () => page.click('text=Check GitLab'));
    const findings = await page.locator('#gitlab li').allTextContents();
    expect(findings.join('\n')).toMatch(/✓ GitLab 18\.2\.0-ee at .* accepts the token/);
    expect(findings.join('\n')).toMatch(/✓ the token of administrator @root has api and sudo/);
    expect(findings.join('\n')).toMatch(/✓ the instance licence is ultimate/);
    expect(findings.join('\n')).toMatch(/✓ approvals are required in acme\/web \(production: 1\)/);
    expect(await page.locator('#gitlab li[data-level=fail]').count()).toBe(0);
  });

  it('step 2 creates the Slack app from the manifest and installs it with one Allow', async () => {
    const { page } = browser;
    await page.fill('#config_token', slack.configToken);
    await act('step 2: paste the Slack configuration token → Create the Slack app', () =>
      page.click('text=Create the Slack app and install it'),
    );
    // Slack's consent page
    expect(await page.textContent('h1')).toMatch(/greenlight is requesting permission/);
    await act('Slack: Allow', () => page.click('text=Allow'));
    expect(page.url()).toBe(`http://localhost:${port}/setup#identity`);
    expect(await page.textContent('#slack')).toMatch(/greenlight is installed in the Slack workspace acme/);
    const [app] = slack.createdApps();
    const manifest = app!.manifest as {
      settings: { event_subscriptions: { request_url: string } };
      oauth_config: { redirect_urls: string[] };
    };
    expect(manifest.settings.event_subscriptions.request_url).toBe(`http://127.0.0.1:${port}/slack/events`);
    expect(manifest.oauth_config.redirect_urls).toContain(`http://127.0.0.1:${port}/setup/slack/installed`);
    expect(app!.installed).toBe(true);
  });

  it('steps 3-6: sudo mode, the channel from a list, webhooks where approvals are required; then it runs', async () => {
    const { page } = browser;
    // pre-filled: sudo (an administrator token with sudo), #deployments, acme/web (it requires approvals)
    expect(await page.isChecked('input[name=auth_mode][value=sudo]')).toBe(true);
    expect(await page.inputValue('#channel')).toBe(CHANNEL);
    expect(await page.locator('#channel option').allTextContents()).toEqual(['#deployments', '#general']);
    expect(await page.isChecked(`input[name=hooks][value="project:${web.id}"]`)).toBe(true);
    expect(await page.isChecked(`input[name=hooks][value="project:${docs.id}"]`)).toBe(false);
    await act('steps 3-6: Save and start greenlight', () => page.click('text=Save and start greenlight'));
    expect(await page.textContent('h1')).toBe('greenlight is running');
    const report = (await page.textContent('#doctor')) ?? '';
    expect(report).toMatch(/\[ok\] +environment is valid: sudo mode/);
    expect(report).toMatch(
      /\[ok\] +greenlight answers GitLab's webhooks at http:\/\/127\.0\.0\.1:\d+\/webhooks\/gitlab/,
    );
    expect(report).toMatch(/\[ok\] +channel #deployments \(C0123DEPLOY\) exists and the bot is in it/);
    expect(report).not.toContain('[FAIL]');

    // .env: only its owner may read it; the secrets were generated; greenlight starts from it next time
    const envFile = join(dir, '.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const written = parseEnv(readFileSync(envFile, 'utf8'));
    expect(written).toMatchObject({
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      GITLAB_URL: gitlab.url,
      GITLAB_TOKEN: ADMIN_TOKEN,
      GITLAB_AUTH_MODE: 'sudo',
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: slack.signingSecret,
      SLACK_CHANNEL: CHANNEL,
      SLACK_API_URL: slack.apiUrl,
    });
    expect(written.GITLAB_WEBHOOK_SECRET).toMatch(/^[0-9a-f]{48}$/);
    // the webhook GitLab now calls, with that secret; the bot joined the channel
    const hooks = Array.from({ length: 20 }, (_, i) => gitlab.getHook(i + 1)).filter(
      (h) => h?.container.kind === 'project' && h.container.projectId === web.id,
    );
    expect(hooks).toEqual([
      expect.objectContaining({
        url: `http://127.0.0.1:${port}/webhooks/gitlab`,
        token: written.GITLAB_WEBHOOK_SECRET,
        deploymentEvents: true,
        pipelineEvents: true,
        jobEvents: true,
      }),
    ]);
    expect(slack.callsTo('conversations.join').map((c) => c.args.channel)).toEqual([CHANNEL]);
    // never served once configured
    expect((await fetch(`http://127.0.0.1:${port}/setup`)).status).toBe(404);
  });

  it('the first deployment gets a card, and the first approval is recorded in GitLab as the approver', async () => {
    const deployment = gitlab.createDeployment({ projectId: web.id, environment: 'production', userId: bob.id });
    const card = await waitFor(
      () => slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deployment.id),
      { what: 'the card', timeoutMs: 15_000 },
    );
    await act('Slack: Approve (and confirm)', () =>
      slack.clickButton(`http://127.0.0.1:${port}`, {
        userId: 'U0456ALICE',
        channel: CHANNEL,
        ts: card.ts,
        actionId: 'deploy_approve',
      }),
    );
    await waitFor(() => gitlab.approvalCalls().length === 1, { what: 'the approval', timeoutMs: 15_000 });
    expect(gitlab.approvalCalls()[0]!.actingUser?.username).toBe('alice');
    expect(gitlab.getDeployment(deployment.id)!.pendingApprovalCount).toBe(0);

    console.log(`actions from a fresh clone to the first approval (${actions.length}):\n  ${actions.join('\n  ')}`);
    expect(actions.length).toBeLessThanOrEqual(8);
  });
});
