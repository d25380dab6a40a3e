import { startFakeGitLab, type FakeGitLab, type FakeProject, type FakeUser } from '../fakes/fake-gitlab.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.ts';

export const CHANNEL = 'C0123DEPLOY';
export const ADMIN_TOKEN = 'glpat-greenlight-admin-0001';
export const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';

/**
 * A small organisation on both fakes: project acme/web with a protected `production` environment that
 * needs one approval from Maintainers; bob triggers deployments, alice and carol approve.
 * Slack users share their GitLab e-mail addresses (sudo mode's e-mail match).
 */
export type World = {
  gitlab: FakeGitLab;
  slack: FakeSlack;
  project: FakeProject;
  admin: FakeUser;
  alice: FakeUser;
  bob: FakeUser;
  carol: FakeUser;
  slackIds: { alice: string; bob: string; carol: string; dave: string };
  /** Environment for the app in sudo mode (override as needed). */
  env: Record<string, string>;
  close(): Promise<void>;
};

let environments = 0;

/**
 * A new protected environment (tier production, one approval from Maintainers unless said otherwise). Tests
 * that want several deployments waiting at once need one environment each: a newer deployment to the same
 * environment supersedes the older one, whose card then stops offering Approve.
 */
export function freshEnvironment(gitlab: FakeGitLab, projectId: number, requiredApprovals = 1): string {
  environments += 1;
  const name = `production-${environments}`;
  gitlab.protectEnvironment(projectId, name, { approvalRules: [{ accessLevel: 40, requiredApprovals }] });
  return name;
}

export async function startWorld(
  opts: { webhookMode?: 'legacy' | 'modern'; requiredApprovals?: number } = {},
): Promise<World> {
  const gitlab = await startFakeGitLab({ webhookMode: opts.webhookMode ?? 'modern' });
  const slack = await startFakeSlack();
  const admin = gitlab.addUser({ username: 'greenlight-admin', name: 'greenlight', admin: true });
  gitlab.addToken({ token: ADMIN_TOKEN, userId: admin.id, scopes: ['api', 'sudo'] });
  const alice = gitlab.addUser({ username: 'alice', name: 'Alice Approver', email: 'alice@acme.test' });
  const bob = gitlab.addUser({ username: 'bob', name: 'Bob Builder', email: 'bob@acme.test' });
  const carol = gitlab.addUser({ username: 'carol', name: 'Carol QA', email: 'carol@acme.test' });
  const project = gitlab.addProject({ pathWithNamespace: 'acme/web' });
  for (const u of [alice, bob, carol]) gitlab.addProjectMember(project.id, u.id, 40);
  gitlab.protectEnvironment(project.id, 'production', {
    approvalRules: [{ accessLevel: 40, requiredApprovals: opts.requiredApprovals ?? 1 }],
  });

  const slackIds = { alice: 'U0456ALICE', bob: 'U0789BOB', carol: 'U0321CAROL', dave: 'U0999DAVE' };
  slack.addUser({ id: slackIds.alice, name: 'alice', email: 'alice@acme.test' });
  slack.addUser({ id: slackIds.bob, name: 'bob', email: 'bob@acme.test' });
  slack.addUser({ id: slackIds.carol, name: 'carol', email: 'carol@acme.test' });
  slack.addUser({ id: slackIds.dave, name: 'dave', email: 'dave@elsewhere.test' });
  slack.addChannel({ id: CHANNEL, name: 'deployments', botIsMember: true });

  const env = {
    GITLAB_URL: gitlab.url,
    GITLAB_TOKEN: ADMIN_TOKEN,
    GITLAB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    GITLAB_AUTH_MODE: 'sudo',
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: slack.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    SLACK_CHANNEL: CHANNEL,
  };
  return {
    gitlab,
    slack,
    project,
    admin,
    alice,
    bob,
    carol,
    slackIds,
    env,
    async close() {
      await Promise.all([gitlab.close(), slack.close()]);
    },
  };
}
