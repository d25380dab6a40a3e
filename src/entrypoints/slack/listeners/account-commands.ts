import type { Notice } from '../../../core/approvals/notices.ts';
import type { Identity, SlackUser } from '../../../core/ports.ts';
import type { AccountStatus, IdentityAdapter } from '../../../adapters/identity/account.ts';
import type { OAuthIdentity } from '../../../adapters/identity/oauth-identity.ts';
import { renderNotice } from '../../../adapters/slack/notice-blocks.ts';
import type { CommandReply, Subcommand } from './command.ts';

export type AccountCommandDeps = {
  command: string;
  identity: IdentityAdapter;
  /** oauth mode only: the Link button's target and unlinking */
  oauth: { linkUrl(user: SlackUser): string; identity: Pick<OAuthIdentity, 'unlink'> } | null;
};

const who = (identity: Identity) => {
  const { username, name } = identity.gitlab;
  return `*@${username}*${name && name !== username ? ` (${name})` : ''}`;
};
const VIA: Record<Identity['via'], string> = {
  policy: 'the policy file',
  email: 'your e-mail address',
  oauth: 'your linked account',
};

/** `/deploys link`, `unlink` and `whoami` for the configured identity mode. */
export function accountSubcommands(deps: AccountCommandDeps): Record<'link' | 'unlink' | 'whoami', Subcommand> {
  const { command, oauth } = deps;
  const userOf = (ctx: Parameters<Subcommand>[0]): SlackUser => ({
    teamId: ctx.command.team_id,
    userId: ctx.command.user_id,
  });
  const withLink = (notice: Notice, user: SlackUser): CommandReply =>
    renderNotice({ ...notice, link: true }, oauth?.linkUrl(user) ?? null);
  const sudoNote =
    'greenlight runs in sudo mode here: it acts for you with its administrator token and ' +
    `finds your GitLab account through the policy file's \`users:\` list or your e-mail address, ` +
    `so there is nothing to link. \`${command} whoami\` shows who you are to greenlight.`;

  return {
    async link(ctx) {
      if (!oauth) return `:information_source: ${sudoNote}`;
      const user = userOf(ctx);
      const current = await deps.identity.resolve(user);
      const text =
        current.kind === 'linked'
          ? `You are linked to GitLab as ${who(current.identity)}. To link another account, ` +
            'open the button (valid for an hour) and sign in to GitLab as that account.'
          : 'Link your GitLab account so that greenlight records your approvals in GitLab as ' +
            'you. The button opens GitLab (valid for an hour); sign in and authorize greenlight.';
      return withLink({ tone: 'info', text }, user);
    },

    async unlink(ctx) {
      if (!oauth) return `:information_source: Nothing to unlink. ${sudoNote}`;
      const result = await oauth.identity.unlink(userOf(ctx));
      if (!result.removed) return `:information_source: Your Slack account is not linked to GitLab; nothing to do.`;
      if (!result.gitlab)
        return (
          ':white_check_mark: greenlight deleted your stored GitLab link. It could not be read any more, so ' +
          'it was not revoked at GitLab: you can remove greenlight in GitLab under Preferences → Applications.'
        );
      return result.revoked
        ? `:white_check_mark: Unlinked from GitLab user *@${result.gitlab.username}*: ` +
            'greenlight deleted your tokens and revoked its access in GitLab.'
        : `:white_check_mark: Unlinked from GitLab user *@${result.gitlab.username}*: ` +
            'greenlight deleted your tokens. GitLab did not confirm the revocation; ' +
            'you can also remove greenlight in GitLab under Preferences → Applications.';
    },

    async whoami(ctx) {
      const user = userOf(ctx);
      return describe(await deps.identity.check(user), user);
    },
  };

  function describe(status: AccountStatus, user: SlackUser): CommandReply {
    const mode = oauth
      ? 'oauth (greenlight uses your own GitLab token)'
      : "sudo (greenlight's administrator token acts for you with the Sudo header)";
    switch (status.kind) {
      case 'works':
        return (
          `:white_check_mark: greenlight acts for you as GitLab user ${who(status.identity)}, ` +
          `found by ${VIA[status.identity.via]}. Mode: ${mode}. GitLab accepts it: checked just now.`
        );
      case 'failing':
        return (
          `:warning: greenlight acts for you as GitLab user ${who(status.identity)}, found by ` +
          `${VIA[status.identity.via]}. Mode: ${mode}. It could not be checked right now: ${status.reason}`
        );
      case 'broken':
        return withLink(
          {
            tone: 'warning',
            text:
              `Your GitLab link stopped working (${status.reason}). Link ` +
              `again with the button or \`${command} link\`. Mode: ${mode}.`,
          },
          user,
        );
      case 'unlinked':
        return oauth
          ? withLink(
              {
                tone: 'info',
                text:
                  'Your Slack account is not linked to GitLab yet. Link it ' +
                  `with the button or \`${command} link\`. Mode: ${mode}.`,
              },
              user,
            )
          : ':information_source: greenlight does not know your GitLab account yet: ask an admin to add you to ' +
              `\`users:\` in the policy file, or make your Slack e-mail match your GitLab e-mail. Mode: ${mode}.`;
    }
  }
}
