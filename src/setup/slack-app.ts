import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { requestJson, slackApi, type ApiResult } from '../cli/http.ts';

/**
 * Step 2 of the setup page: the Slack app. With an app configuration token greenlight creates the app from
 * manifest.yml with this installation's URLs (apps.manifest.create), then sends the person to Slack's
 * "Install to workspace" consent page; Slack redirects back with a code that oauth.v2.access exchanges for the
 * bot token. The manual path checks a bot token (auth.test) and a signing secret or an app-level token.
 */

/** Where Slack sends the browser after "Allow"; listed in the manifest's redirect_urls. */
export const INSTALL_CALLBACK_PATH = '/setup/slack/installed';

const MANIFEST_URL = new URL('../../manifest.yml', import.meta.url);
const PLACEHOLDER_ORIGIN = 'https://greenlight.example.com';

type Manifest = Record<string, unknown> & {
  features?: { slash_commands?: Array<Record<string, unknown>> };
  oauth_config?: { scopes?: { bot?: string[] }; redirect_urls?: string[] };
};

/** manifest.yml with the placeholder URL replaced by `publicUrl`, the slash command, and the install redirect. */
export function manifestFor(publicUrl: string, command: string, text = readFileSync(MANIFEST_URL, 'utf8')): Manifest {
  const base = publicUrl.replace(/\/+$/, '');
  const manifest = parseYaml(text.split(PLACEHOLDER_ORIGIN).join(base)) as Manifest;
  for (const c of manifest.features?.slash_commands ?? []) c.command = command;
  const oauth = (manifest.oauth_config ??= {});
  oauth.redirect_urls = [...new Set([...(oauth.redirect_urls ?? []), `${base}${INSTALL_CALLBACK_PATH}`])];
  return manifest;
}

export function botScopes(manifest: Manifest): string[] {
  return manifest.oauth_config?.scopes?.bot ?? [];
}

const ManifestCreate = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  errors: z.array(z.object({ message: z.string().optional(), pointer: z.string().optional() })).optional(),
  app_id: z.string().optional(),
  credentials: z
    .object({
      client_id: z.string(),
      client_secret: z.string(),
      signing_secret: z.string(),
      verification_token: z.string().optional(),
    })
    .optional(),
  oauth_authorize_url: z.string().optional(),
});

export type CreatedSlackApp = {
  appId: string;
  clientId: string;
  clientSecret: string;
  signingSecret: string;
  authorizeUrl: string;
};

/** apps.manifest.create with the configuration token; errors are sentences for the page. */
export async function createSlackApp(
  apiUrl: string,
  configToken: string,
  manifest: Manifest,
): Promise<{ ok: true; app: CreatedSlackApp } | { ok: false; error: string }> {
  const answer = await slackApi(apiUrl, configToken)(
    'apps.manifest.create',
    { manifest: JSON.stringify(manifest) },
    ManifestCreate,
  );
  if (!answer.ok) return { ok: false, error: `Slack could not be reached (${answer.message})` };
  const data = answer.data;
  if (!data.ok || !data.credentials || !data.oauth_authorize_url || !data.app_id) {
    if (data.error === 'invalid_auth' || data.error === 'token_expired' || data.error === 'not_authed')
      return {
        ok: false,
        error:
          `Slack refuses the configuration token (${data.error}). Configuration tokens expire after 12 hours: ` +
          'generate a new one under "Your App Configuration Tokens" at api.slack.com/apps',
      };
    const details = (data.errors ?? []).map((e) => `${e.pointer ?? ''} ${e.message ?? ''}`.trim()).join('; ');
    return {
      ok: false,
      error:
        `Slack did not create the app (${data.error ?? 'no credentials in the answer'})` +
        `${details ? `: ${details}` : ''}` +
        (data.error === 'invalid_manifest' ? '. Slack only accepts https:// URLs: check the public URL (step 1)' : ''),
    };
  }
  return {
    ok: true,
    app: {
      appId: data.app_id,
      clientId: data.credentials.client_id,
      clientSecret: data.credentials.client_secret,
      signingSecret: data.credentials.signing_secret,
      authorizeUrl: data.oauth_authorize_url,
    },
  };
}

/** The consent page URL with our redirect and state (the authorize URL Slack returned already names the scopes). */
export function installUrl(app: CreatedSlackApp, redirectUri: string, state: string): string {
  const url = new URL(app.authorizeUrl);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('state', state);
  return url.href;
}

const OAuthAccess = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  access_token: z.string().optional(),
  token_type: z.string().optional(),
  team: z.object({ id: z.string(), name: z.string().optional() }).nullable().optional(),
});

/** oauth.v2.access: the code from the install redirect for the bot token. */
export async function exchangeInstallCode(
  apiUrl: string,
  input: { clientId: string; clientSecret: string; code: string; redirectUri: string },
): Promise<{ ok: true; botToken: string; team: string } | { ok: false; error: string }> {
  const base = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  const answer = await requestJson(`${base}oauth.v2.access`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: input.clientId,
      client_secret: input.clientSecret,
      code: input.code,
      redirect_uri: input.redirectUri,
    }).toString(),
    schema: OAuthAccess,
  });
  if (!answer.ok) return { ok: false, error: `Slack could not be reached (${answer.message})` };
  if (!answer.data.ok || !answer.data.access_token?.startsWith('xoxb-'))
    return { ok: false, error: `Slack did not install the app (${answer.data.error ?? 'no bot token in the answer'})` };
  return { ok: true, botToken: answer.data.access_token, team: answer.data.team?.name ?? answer.data.team?.id ?? '' };
}

const AuthTest = z.object({ ok: z.boolean(), error: z.string().optional(), team: z.string().optional() });
const Ok = z.object({ ok: z.boolean(), error: z.string().optional() });

/** The manual path: the bot token works (auth.test), and an app-level token opens Socket Mode connections. */
export async function checkManualTokens(
  apiUrl: string,
  input: { botToken: string; appToken?: string },
): Promise<{ ok: true; team: string } | { ok: false; error: string }> {
  if (!/^xoxb-[A-Za-z0-9-]{8,}$/.test(input.botToken))
    return { ok: false, error: 'the bot token starts with xoxb- (OAuth & Permissions > Bot User OAuth Token)' };
  const auth = await slackApi(apiUrl, input.botToken)('auth.test', {}, AuthTest);
  if (!auth.ok) return { ok: false, error: `Slack could not be reached (${auth.message})` };
  if (!auth.data.ok) return { ok: false, error: `Slack refuses the bot token (${auth.data.error})` };
  if (input.appToken) {
    if (!input.appToken.startsWith('xapp-'))
      return { ok: false, error: 'the app-level token starts with xapp- (Basic Information > App-Level Tokens)' };
    const open = await slackApi(apiUrl, input.appToken)('apps.connections.open', {}, Ok);
    if (!open.ok) return { ok: false, error: `Slack could not be reached (${open.message})` };
    if (!open.data.ok)
      return {
        ok: false,
        error:
          `Slack refuses the app-level token (${open.data.error}): it needs the scope connections:write, ` +
          'and Socket Mode must be on',
      };
  }
  return { ok: true, team: auth.data.team ?? '' };
}

const ConversationsList = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  channels: z
    .array(
      z.object({
        id: z.string(),
        name: z.string().optional(),
        is_private: z.boolean().optional(),
        is_member: z.boolean().optional(),
      }),
    )
    .optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});

export type SlackChannel = { id: string; name: string; isPrivate: boolean; botIsMember: boolean };

/** The workspace's channels the bot can see (public ones, private ones it is in), at most 1,000. */
export async function listChannels(
  apiUrl: string,
  botToken: string,
): Promise<{ ok: true; channels: SlackChannel[] } | { ok: false; error: string }> {
  const call = slackApi(apiUrl, botToken);
  const channels: SlackChannel[] = [];
  let cursor = '';
  for (let page = 0; page < 5; page += 1) {
    const answer: ApiResult<z.infer<typeof ConversationsList>> = await call(
      'conversations.list',
      {
        types: 'public_channel,private_channel',
        exclude_archived: 'true',
        limit: '200',
        ...(cursor && { cursor }),
      },
      ConversationsList,
    );
    if (!answer.ok) return { ok: false, error: `Slack could not be reached (${answer.message})` };
    if (!answer.data.ok) return { ok: false, error: `Slack refused conversations.list (${answer.data.error})` };
    for (const c of answer.data.channels ?? [])
      channels.push({ id: c.id, name: c.name ?? c.id, isPrivate: c.is_private === true, botIsMember: !!c.is_member });
    cursor = answer.data.response_metadata?.next_cursor ?? '';
    if (!cursor) break;
  }
  channels.sort((a, b) => a.name.localeCompare(b.name));
  return { ok: true, channels };
}

/** The bot joins a public channel (conversations.join); private channels need an /invite by a member. */
export async function joinChannel(apiUrl: string, botToken: string, channel: string): Promise<string | null> {
  const answer = await slackApi(apiUrl, botToken)('conversations.join', { channel }, Ok);
  if (!answer.ok) return `Slack could not be reached (${answer.message})`;
  return answer.data.ok ? null : (answer.data.error ?? 'unknown error');
}
