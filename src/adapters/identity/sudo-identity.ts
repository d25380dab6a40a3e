import type { GitLabUser } from '../../core/deployments/deployment.ts';
import { Users } from '@gitbeaker/rest';
import type { IdentityResolution, SlackUser } from '../../core/ports.ts';
import type { Logger } from '../../core/ports.ts';
import type { Policy } from '../../core/policy.ts';
import { TtlCache } from '../../lib/ttl-cache.ts';
import { createActor } from '../gitlab/actors.ts';
import { mapGitLabError } from '../gitlab/client.ts';
import { gitbeakerOptions, type GitLabConnection, type GitLabReaderAdapter } from '../gitlab/reader.ts';
import type { SlackProfile } from '../slack/chat.ts';
import type { IdentityAdapter } from './account.ts';

export type SlackDirectory = {
  userProfile(userId: string): Promise<SlackProfile | null>;
  installedTeam(): Promise<string>;
  userIdByEmail(email: string): Promise<string | null>;
};

/**
 * Whether sudo mode may match this Slack account to a GitLab user by e-mail: only a full member of the workspace
 * greenlight is installed in (same team, not a guest, not external) whose e-mail Slack has confirmed. Anyone
 * else is matched only through the policy file's explicit `users:` list.
 */
export function emailMatchRefusal(
  profile: SlackProfile,
  requestTeam: string,
  installedTeam: string,
): 'external' | 'guest' | 'unconfirmed_email' | null {
  if (profile.stranger || profile.teamId !== installedTeam || requestTeam !== installedTeam) return 'external';
  if (profile.guest) return 'guest';
  if (!profile.emailConfirmed) return 'unconfirmed_email';
  return null;
}

const POSITIVE_MS = 10 * 60_000;
const NEGATIVE_MS = 60_000;

/**
 * Self-managed GitLab: greenlight's administrator token acts as the person with the Sudo header.
 * Who the person is: the policy file's `users:` list, else their Slack e-mail equals a GitLab e-mail.
 */
export function createSudoIdentity(deps: {
  gitlab: GitLabReaderAdapter;
  slack: SlackDirectory;
  policy: Pick<Policy, 'users'>;
  conn: GitLabConnection;
  logger: Logger;
}): IdentityAdapter {
  const resolved = new TtlCache<string, IdentityResolution>({ ttlMs: POSITIVE_MS, max: 10_000 });
  const slackOf = new TtlCache<number, string | null>({ ttlMs: POSITIVE_MS, max: 10_000 });
  const bySlack = new Map(deps.policy.users.map((u) => [u.slack, u.gitlab]));
  const byGitLab = new Map(deps.policy.users.map((u) => [u.gitlab.toLowerCase(), u.slack]));

  async function lookup(user: SlackUser): Promise<IdentityResolution> {
    const mapped = bySlack.get(user.userId);
    if (mapped) {
      const gitlab = await deps.gitlab.findUserByUsername(mapped);
      if (gitlab) return { kind: 'linked', identity: { gitlab, via: 'policy', emails: await emailsOf(gitlab) } };
      deps.logger.warn(
        { slackUser: user.userId, gitlabUsername: mapped },
        'policy maps a Slack user to an unknown GitLab username',
      );
      return { kind: 'unlinked' };
    }
    const profile = await deps.slack.userProfile(user.userId);
    if (!profile?.email) return { kind: 'unlinked' };
    const refusal = emailMatchRefusal(profile, user.teamId, await deps.slack.installedTeam());
    if (refusal) {
      deps.logger.info(
        { slackUser: user.userId, reason: refusal },
        'e-mail match refused: not a full member of the workspace',
      );
      return { kind: 'unlinked', reason: refusal };
    }
    const email = profile.email;
    const gitlab = await deps.gitlab.findUserByEmail(email);
    if (!gitlab) return { kind: 'unlinked' };
    slackOf.set(gitlab.id, user.userId);
    return { kind: 'linked', identity: { gitlab, via: 'email', emails: [email] } };
  }

  /** The mapped person's e-mail as the administrator token sees it, for the four-eyes commit-author rule. */
  async function emailsOf(gitlab: GitLabUser): Promise<string[]> {
    const email = await deps.gitlab.userEmail(gitlab.id);
    return email ? [email] : [];
  }

  const resolve = (user: SlackUser) =>
    resolved.getOrLoad(
      `${user.teamId}:${user.userId}`,
      () => lookup(user),
      (r) => (r.kind === 'linked' ? POSITIVE_MS : NEGATIVE_MS),
    );

  return {
    linkHint: 'sudo',
    resolve,
    async check(user) {
      const resolution = await resolve(user);
      if (resolution.kind !== 'linked') return resolution;
      const identity = resolution.identity;
      try {
        await new Users(gitbeakerOptions(deps.conn, { token: deps.conn.token }, identity.gitlab.id)).showCurrentUser();
        return { kind: 'works', identity };
      } catch (error) {
        return { kind: 'failing', identity, reason: mapGitLabError(error, 'GET /user with Sudo').message };
      }
    },
    async actorFor(identity) {
      return createActor(deps.conn, identity.gitlab, { token: deps.conn.token }, { sudo: true });
    },
    async slackUserFor(gitlab: GitLabUser) {
      const mapped = byGitLab.get(gitlab.username.toLowerCase());
      if (mapped) return mapped;
      try {
        // "not found" is remembered for a while; a failed look-up (rate limit, outage) is not remembered at all
        return await slackOf.getOrLoad(
          gitlab.id,
          async () => {
            const email = await deps.gitlab.userEmail(gitlab.id);
            return email ? await deps.slack.userIdByEmail(email) : null;
          },
          (id) => (id ? POSITIVE_MS : NEGATIVE_MS * 30),
        );
      } catch (error) {
        deps.logger.debug(
          { gitlabUser: gitlab.username, err: error },
          'could not look up the Slack account of a GitLab user',
        );
        return null;
      }
    },
  };
}
