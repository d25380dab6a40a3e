import type { Config } from '../config/load.ts';
import type { Clock, Logger } from '../core/ports.ts';
import type { GitLabConnection } from '../adapters/gitlab/reader.ts';
import { createGitLabOAuthClient } from '../adapters/gitlab/oauth-client.ts';
import type { IdentityAdapter } from '../adapters/identity/account.ts';
import { createLinkStart } from '../adapters/identity/link-start.ts';
import { createLinkStore } from '../adapters/identity/link-store.ts';
import { createOAuthIdentity } from '../adapters/identity/oauth-identity.ts';
import { createSudoIdentity } from '../adapters/identity/sudo-identity.ts';
import { createTokenCipher } from '../adapters/identity/token-cipher.ts';
import type { Keyspace } from '../adapters/redis/connection.ts';
import { createSlackSignIn } from '../adapters/slack/sign-in.ts';
import { SLACK_CALLBACK_PATH } from '../entrypoints/http/oauth-routes.ts';
import type { Redis } from 'ioredis';

type Deps = { config: Config; redis: Redis; keys: Keyspace; clock: Clock; logger: Logger; conn: GitLabConnection };

/** The signed start URL of the link flow: only in oauth mode, where PUBLIC_URL is known. */
export function createLinkStartFor({ config, clock }: Pick<Deps, 'config' | 'clock'>) {
  return config.gitlab.authMode === 'oauth' && config.gitlab.oauth && config.publicUrl
    ? createLinkStart({ publicUrl: config.publicUrl, keys: config.encryptionKeys, now: () => clock.now() })
    : null;
}

/** Identity by GITLAB_AUTH_MODE: oauth (each person's own token; loadConfig made sure its settings exist) or sudo. */
export function createIdentity(
  deps: Deps & {
    linkStart: ReturnType<typeof createLinkStartFor>;
    sudo: Omit<Parameters<typeof createSudoIdentity>[0], 'policy' | 'conn' | 'logger'>;
  },
) {
  const { config, linkStart } = deps;
  const sudo = createSudoIdentity({ ...deps.sudo, policy: config.policy, conn: deps.conn, logger: deps.logger });
  const gitlabApp = config.gitlab.oauth;
  const slackApp = config.slack.oauth;
  const oauth =
    config.gitlab.authMode === 'oauth' && gitlabApp && linkStart && slackApp
      ? createOAuthIdentity({
          store: createLinkStore(deps.redis, deps.keys, createTokenCipher(config.encryptionKeys)),
          oauth: createGitLabOAuthClient({
            url: config.gitlab.url,
            clientId: gitlabApp.clientId,
            clientSecret: gitlabApp.clientSecret,
            redirectUri: `${config.publicUrl}/oauth/gitlab/callback`,
            ...(deps.conn.gate && { gate: deps.conn.gate }),
          }),
          conn: deps.conn,
          clock: deps.clock,
          logger: deps.logger,
          fallback: sudo,
          slackSignIn: createSlackSignIn({
            apiUrl: config.slack.apiUrl,
            clientId: slackApp.clientId,
            clientSecret: slackApp.clientSecret,
            redirectUri: `${config.publicUrl}${SLACK_CALLBACK_PATH}`,
          }),
        })
      : null;
  const identity: IdentityAdapter = oauth ?? sudo;
  return { identity, oauth };
}
