import { z } from 'zod';
import type { Config } from '../../config/load.ts';
import { gitlabApi } from '../http.ts';
import { fail, ok, warn, type Finding } from './report.ts';

const Version = z.object({ version: z.string() });
const TokenSelf = z.object({
  name: z.string().optional(),
  scopes: z.array(z.string()),
  active: z.boolean().optional(),
  expires_at: z.string().nullable().optional(),
});
const User = z.object({ username: z.string(), is_admin: z.boolean().optional() });

/** GitLab 19.3 started sending Deployment Hooks with status blocked, approved and rejected. */
export const MODERN_WEBHOOKS_FROM = [19, 3] as const;

export function webhookGeneration(version: string): 'modern' | 'legacy' | 'unknown' {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return 'unknown';
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > MODERN_WEBHOOKS_FROM[0] || (major === MODERN_WEBHOOKS_FROM[0] && minor >= MODERN_WEBHOOKS_FROM[1])
    ? 'modern'
    : 'legacy';
}

/** The token works, has the scopes the mode needs, and which webhooks this GitLab sends. */
export async function checkGitLab(config: Config, now: number = Date.now()): Promise<Finding[]> {
  const { url, authMode } = config.gitlab;
  const api = gitlabApi(url, config.gitlab.token);
  const newToken =
    authMode === 'sudo'
      ? 'create a personal access token of an administrator with the scopes api and sudo (Admin > Users ' +
        '> greenlight > Impersonation tokens, or User settings > Access tokens) and set GITLAB_TOKEN'
      : 'create a token with the scope read_api (User settings > Access ' +
        'tokens, or a group/project access token) and set GITLAB_TOKEN';
  const version = await api.get('version', Version);
  if (!version.ok) {
    if (version.status === 401)
      return [
        fail(
          `GitLab at ${url} refuses GITLAB_TOKEN (401: ${version.message})`,
          `the token is wrong, expired or revoked: ${newToken}`,
        ),
      ];
    if (typeof version.status !== 'number')
      return [
        fail(
          `GitLab at ${url} cannot be reached (${version.message})`,
          'check GITLAB_URL (base URL without /api/v4) and the network path from greenlight to GitLab',
        ),
      ];
    return [
      fail(
        `GitLab at ${url} answered ${version.status} to GET /version (${version.message})`,
        `check GITLAB_URL; the token needs read_api (or api): ${newToken}`,
      ),
    ];
  }
  const findings: Finding[] = [ok(`GitLab ${version.data.version} at ${url} accepts GITLAB_TOKEN`)];
  const generation = webhookGeneration(version.data.version);
  if (generation === 'modern')
    findings.push(
      ok(
        'GitLab 19.3+ sends Deployment Hooks for blocked, approved ' +
          'and rejected deployments: cards appear within seconds',
      ),
    );
  else if (generation === 'legacy')
    findings.push(
      ok(
        'GitLab before 19.3 sends no webhook when a deployment starts waiting: greenlight ' +
          'follows Pipeline and Job Hooks and lists blocked deployments (keep ' +
          'Pipeline and Job events on the webhooks; greenlight webhooks install sets them)',
      ),
    );
  else
    findings.push(
      warn(
        `cannot tell the GitLab version from "${version.data.version}"`,
        'keep Deployment, Pipeline and Job events on the webhooks (greenlight ' +
          'webhooks install sets them) so that either generation works',
      ),
    );

  const self = await api.get('personal_access_tokens/self', TokenSelf);
  if (!self.ok) {
    findings.push(
      warn(
        `cannot read the token's scopes (GET /personal_access_tokens/self answered ${self.status})`,
        `make sure the token has the scopes ${authMode === 'sudo' ? 'api and sudo' : 'read_api (or api)'}; ${newToken}`,
      ),
    );
  } else {
    const scopes = new Set(self.data.scopes);
    const needed = authMode === 'sudo' ? ['api', 'sudo'] : scopes.has('api') ? ['api'] : ['read_api'];
    const missing = needed.filter((s) => !scopes.has(s));
    if (missing.length > 0)
      findings.push(
        fail(
          `GITLAB_TOKEN lacks the scope${missing.length > 1 ? 's' : ''} ` +
            `${missing.join(', ')} (has ${[...scopes].join(', ') || 'none'})`,
          newToken,
        ),
      );
    else findings.push(ok(`the token has the scopes ${needed.join(', ')}`));
    if (self.data.expires_at) {
      // a personal access token stops working at the start of its expiry day (UTC)
      const days = (Date.parse(self.data.expires_at) - now) / 86_400_000;
      if (days < 14)
        findings.push(
          warn(
            `the token expires on ${self.data.expires_at}, in less than ` +
              `${Math.max(1, Math.ceil(days))} day${Math.ceil(days) <= 1 ? '' : 's'}`,
            `${newToken}, before it expires`,
          ),
        );
    }
  }
  if (authMode === 'sudo') {
    const user = await api.get('user', User);
    if (user.ok && user.data.is_admin !== true)
      findings.push(
        fail(
          `GITLAB_TOKEN belongs to @${user.data.username}, who is ` +
            'not an administrator: sudo mode cannot act for people',
          newToken,
        ),
      );
    else if (user.ok) findings.push(ok(`the token belongs to administrator @${user.data.username} (sudo mode)`));
  } else if (config.publicUrl) {
    findings.push(
      ok(
        'oauth mode: the GitLab OAuth application must have the redirect URI ' +
          `${config.publicUrl}/oauth/gitlab/callback and the scopes api read_user`,
      ),
    );
  }
  return findings;
}
