import type { Json } from '../types.ts';
import { ApiFailure, fail } from './context.ts';
import type { Args, FakeState } from './context.ts';

/**
 * apps.manifest.create (configuration token) and oauth.v2.access (client credentials): creating and
 * installing an app, with Slack's documented answers (docs.slack.dev/reference/methods/apps.manifest.create,
 * .../oauth.v2.access).
 */

export function manifestCreate(state: FakeState, args: Args): Json {
  const raw = args.json('manifest');
  let manifest: unknown = raw;
  if (typeof raw === 'string') {
    try {
      manifest = JSON.parse(raw);
    } catch {
      fail('invalid_manifest', { errors: [{ message: 'Manifest is not valid JSON', pointer: '/' }] });
    }
  }
  if (typeof manifest !== 'object' || manifest === null) fail('invalid_manifest', { errors: [] });
  const errors = manifestErrors(manifest as Json);
  if (errors.length > 0) fail('invalid_manifest', { errors });
  const app = state.apps.create(manifest as Json);
  const { identity } = state;
  const authorize = new URL('/oauth/v2/authorize', state.baseUrl());
  authorize.searchParams.set('client_id', identity.clientId);
  authorize.searchParams.set('scope', app.botScopes.join(','));
  return {
    app_id: app.appId,
    credentials: {
      client_id: identity.clientId,
      client_secret: identity.clientSecret,
      verification_token: identity.verificationToken,
      signing_secret: identity.signingSecret,
    },
    oauth_authorize_url: authorize.href,
  };
}

/** The checks behind Slack's invalid_manifest answer that matter to an app like greenlight. */
function manifestErrors(manifest: Json): Json[] {
  const errors: Json[] = [];
  const get = (path: string): unknown =>
    path
      .split('/')
      .reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Json)[k] : undefined), manifest);
  const name = get('display_information/name');
  if (typeof name !== 'string' || name.length === 0 || name.length > 35)
    errors.push({ message: 'Name must be 1 to 35 characters', pointer: '/display_information/name' });
  const socket = get('settings/socket_mode_enabled') === true;
  if (!socket) {
    if (
      get('settings/event_subscriptions') !== undefined &&
      typeof get('settings/event_subscriptions/request_url') !== 'string'
    )
      errors.push({
        message: 'Event Subscription requires either Request URL or Socket Mode Enabled',
        pointer: '/settings/event_subscriptions',
      });
    if (
      get('settings/interactivity/is_enabled') === true &&
      typeof get('settings/interactivity/request_url') !== 'string'
    )
      errors.push({ message: 'Interactivity requires a Request URL', pointer: '/settings/interactivity' });
  }
  const commands = get('features/slash_commands');
  if (Array.isArray(commands))
    commands.forEach((c, i) => {
      if (!socket && typeof (c as Json).url !== 'string')
        errors.push({ message: 'Slash commands require a URL', pointer: `/features/slash_commands/${i}/url` });
    });
  return errors;
}

/**
 * Exchanges the code from the install redirect. Client credentials come as form fields or HTTP Basic; the
 * answer is the bot token of the workspace, and the workspace's bot now has the app's scopes.
 */
export function oauthV2Access(state: FakeState, args: Args, basic?: { user: string; password: string }): Json {
  const clientId = args.str('client_id') ?? basic?.user ?? '';
  const clientSecret = args.str('client_secret') ?? basic?.password ?? '';
  if (clientId !== state.identity.clientId) fail('invalid_client_id');
  if (clientSecret !== state.identity.clientSecret) fail('bad_client_secret');
  const code = args.str('code');
  if (!code) throw new ApiFailure('invalid_arguments', {}, 'oauth.v2.access without a code');
  const redeemed = state.apps.redeem({ code, clientId, redirectUri: args.str('redirect_uri') });
  if (typeof redeemed === 'string') fail(redeemed);
  const app = state.apps.latest();
  if (app) {
    app.installed = true;
    state.workspace.scopes = [...app.botScopes];
  }
  const { identity } = state;
  return {
    access_token: identity.botToken,
    token_type: 'bot',
    scope: state.workspace.scopes.join(','),
    bot_user_id: identity.botUserId,
    app_id: app?.appId ?? identity.appId,
    team: { name: identity.teamDomain, id: identity.teamId },
    enterprise: null,
    is_enterprise_install: false,
    authed_user: { id: 'U0000ADMIN' },
  };
}
