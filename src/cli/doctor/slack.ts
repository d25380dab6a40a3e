import { z } from 'zod';
import type { Config } from '../../config/load.ts';
import { requestJson, slackApi, type ApiResult } from '../http.ts';
import { fail, ok, warn, type Finding } from './report.ts';

/** The bot scopes manifest.yml asks for, and what each is for (a test keeps the two in step). */
export const BOT_SCOPES: Record<string, { why: string; essential: boolean }> = {
  'chat:write': { why: 'post and update cards and notices', essential: true },
  'chat:write.public': { why: 'post cards in public channels the bot has not joined', essential: false },
  commands: { why: 'the slash command', essential: true },
  'users:read': { why: 'names and time zones of approvers', essential: true },
  'users:read.email': { why: 'match Slack and GitLab users by e-mail in sudo mode', essential: false },
  'im:write': { why: 'direct messages to approvers', essential: false },
  'channels:history': { why: 'find a card again after a crash, in public channels', essential: false },
  'groups:history': { why: 'the same in private channels', essential: false },
  'channels:read': {
    why: "who is in a public card channel (lists and the Home tab show its deployments to them); doctor's checks",
    essential: false,
  },
  'groups:read': { why: 'the same for private card channels', essential: false },
  'channels:join': { why: 'the setup page adds the bot to the card channel', essential: false },
};

const Ok = z.object({ ok: z.boolean(), error: z.string().optional() });
const AuthTest = Ok.extend({
  team: z.string().optional(),
  user: z.string().optional(),
  user_id: z.string().optional(),
});
const ConversationsInfo = Ok.extend({
  channel: z
    .object({
      id: z.string(),
      name: z.string().optional(),
      is_private: z.boolean().optional(),
      is_archived: z.boolean().optional(),
      is_member: z.boolean().optional(),
    })
    .optional(),
});
const ConnectionsOpen = Ok.extend({ url: z.string().optional() });

const REINSTALL =
  'in the Slack app settings (api.slack.com/apps > greenlight) add the scopes under OAuth ' +
  '& Permissions, or re-create the app from manifest.yml, then reinstall it to the workspace';

/** Every channel cards, reminders or escalations may go to. */
export function policyChannels(config: Config): string[] {
  const { defaults, routes } = config.policy;
  const channels = [defaults.channel, ...defaults.escalation.map((e) => e.channel)];
  for (const r of routes)
    channels.push(r.overrides.channel ?? null, ...(r.overrides.escalation ?? []).map((e) => e.channel));
  return [...new Set(channels.filter((c): c is string => typeof c === 'string' && c.length > 0))];
}

/** The bot token works and has the scopes, every configured channel exists with the bot in it, Socket Mode connects. */
export async function checkSlack(config: Config): Promise<Finding[]> {
  const call = slackApi(config.slack.apiUrl, config.slack.botToken);
  const auth = await call('auth.test', {}, AuthTest);
  if (!auth.ok)
    return [
      fail(
        `Slack cannot be reached at ${config.slack.apiUrl} (${auth.message})`,
        'check the network path to Slack (and SLACK_API_URL, normally https://slack.com/api/)',
      ),
    ];
  if (!auth.data.ok)
    return [
      fail(
        `Slack refuses SLACK_BOT_TOKEN (${auth.data.error})`,
        'copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions ' +
          'of the Slack app; if the app was uninstalled, install it again',
      ),
    ];
  const findings: Finding[] = [
    ok(`Slack accepts the bot token: @${auth.data.user ?? auth.data.user_id} in workspace ${auth.data.team ?? '?'}`),
  ];
  findings.push(...scopeFindings(auth, config));
  if (config.gitlab.authMode === 'oauth' && config.slack.oauth) findings.push(await signInFinding(config));
  for (const channel of policyChannels(config)) findings.push(await channelFinding(call, channel));
  if (config.slack.appToken) findings.push(await socketModeFinding(config));
  return findings;
}

function scopeFindings(auth: ApiResult<unknown>, config: Config): Finding[] {
  const header = auth.headers?.get('x-oauth-scopes');
  if (header === null || header === undefined)
    return [
      warn(
        'Slack did not say which scopes the token has',
        `make sure the app has the bot scopes ${Object.keys(BOT_SCOPES).join(', ')}`,
      ),
    ];
  const granted = new Set(
    header
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const missing = Object.entries(BOT_SCOPES).filter(([scope]) => !granted.has(scope));
  if (missing.length === 0) return [ok(`the bot has every scope greenlight uses (${Object.keys(BOT_SCOPES).length})`)];
  const essential = (scope: string, e: boolean) =>
    e || (scope === 'users:read.email' && config.gitlab.authMode === 'sudo');
  const [hard, soft] = [
    missing.filter(([s, m]) => essential(s, m.essential)),
    missing.filter(([s, m]) => !essential(s, m.essential)),
  ];
  const describe = (list: typeof missing) => list.map(([s, m]) => `${s} (${m.why})`).join(', ');
  const findings: Finding[] = [];
  if (hard.length > 0) findings.push(fail(`the bot lacks ${describe(hard)}`, REINSTALL));
  if (soft.length > 0) findings.push(warn(`the bot lacks ${describe(soft)}`, REINSTALL));
  return findings;
}

async function channelFinding(call: ReturnType<typeof slackApi>, channel: string): Promise<Finding> {
  const info = await call('conversations.info', { channel }, ConversationsInfo);
  if (!info.ok)
    return warn(`cannot check channel ${channel} (${info.message})`, 'run greenlight doctor again when Slack answers');
  const c = info.data.channel;
  if (!info.data.ok || !c) {
    const error = info.data.error ?? 'unknown_error';
    if (error === 'missing_scope')
      return warn(`cannot check channel ${channel}: the bot lacks channels:read / groups:read`, REINSTALL);
    if (error === 'channel_not_found')
      return fail(
        `channel ${channel} does not exist, or is private and the bot is not in it`,
        'check the ID (channel details > About, bottom) in SLACK_CHANNEL or ' +
          'CONFIG_FILE; for a private channel type /invite @greenlight in it',
      );
    return fail(`channel ${channel}: Slack says ${error}`, 'check the channel ID in SLACK_CHANNEL or CONFIG_FILE');
  }
  const name = `#${c.name ?? channel} (${channel})`;
  if (c.is_archived)
    return fail(
      `channel ${name} is archived`,
      'unarchive it, or point SLACK_CHANNEL / the route in CONFIG_FILE to another channel',
    );
  if (c.is_member) return ok(`channel ${name} exists and the bot is in it`);
  if (c.is_private)
    return fail(
      `the bot is not in private channel ${name}: it cannot post there`,
      `type /invite @greenlight in ${name}`,
    );
  return warn(
    `the bot is not in ${name}: cards are posted (chat:write.public), but a card cannot be found again after a ` +
      'crash or a Slack timeout, or after Redis lost its data: it is posted again (it may then show twice)',
    `type /invite @greenlight in ${name}`,
  );
}

/**
 * Sign in with Slack (oauth mode): openid.connect.token with a code that cannot be valid tells whether Slack knows
 * SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (invalid_code: they are right; invalid_client_id / bad_client_secret:
 * they are not). The redirect URL cannot be asked for: the finding names the one the app must list.
 */
async function signInFinding(config: Config): Promise<Finding> {
  const { clientId, clientSecret } = config.slack.oauth!;
  const redirect = `${config.publicUrl}/oauth/slack/callback`;
  const fix =
    'copy Client ID and Client Secret from Basic Information > App Credentials of the Slack app into ' +
    `SLACK_CLIENT_ID and SLACK_CLIENT_SECRET; the app's OAuth & Permissions > Redirect URLs must list ${redirect}`;
  // The app's own credentials authenticate this method, not a token.
  const answer = await requestJson(`${config.slack.apiUrl}openid.connect.token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: clientId,
      client_secret: clientSecret,
      code: 'greenlight-doctor-check',
      redirect_uri: redirect,
    }).toString(),
    schema: Ok,
  });
  if (!answer.ok) return warn(`cannot check Sign in with Slack (${answer.message})`, 'run doctor again later');
  const error = answer.data.error ?? '';
  if (['invalid_client_id', 'bad_client_secret', 'invalid_client'].includes(error))
    return fail(`Sign in with Slack: Slack refuses the app's credentials (${error})`, fix);
  if (answer.data.ok || ['invalid_code', 'invalid_grant_type', 'bad_redirect_uri'].includes(error))
    return ok(
      'Sign in with Slack: Slack accepts SLACK_CLIENT_ID and SLACK_CLIENT_SECRET; the Slack app must list the ' +
        `redirect URL ${redirect} (manifest.yml oauth_config.redirect_urls)`,
    );
  return warn(`Sign in with Slack: openid.connect.token answered ${error}`, fix);
}

async function socketModeFinding(config: Config): Promise<Finding> {
  const open = await slackApi(config.slack.apiUrl, config.slack.appToken ?? '')(
    'apps.connections.open',
    {},
    ConnectionsOpen,
  );
  const fix =
    'in the Slack app settings enable Socket Mode, then create an app-level token with the ' +
    'scope connections:write (Basic Information > App-Level Tokens) and set SLACK_APP_TOKEN';
  if (!open.ok) return fail(`Socket Mode: apps.connections.open failed (${open.message})`, fix);
  if (!open.data.ok) return fail(`Socket Mode: Slack refuses SLACK_APP_TOKEN (${open.data.error})`, fix);
  return ok('Socket Mode: the app-level token opens connections (no public Slack endpoint needed)');
}
