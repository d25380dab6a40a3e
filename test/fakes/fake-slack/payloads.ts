import type { Identity, Json } from './types.ts';
import type { User } from './workspace.ts';

/** Builders for the bodies Slack sends to an app (reference §2), kept free of I/O. */

export function payloadUser(identity: Identity, user: User): Json {
  return { id: user.id, username: user.name, name: user.name, team_id: identity.teamId };
}

function team(identity: Identity): Json {
  return { id: identity.teamId, domain: identity.teamDomain };
}

export interface CommandFields {
  command: string;
  text: string;
  user: User;
  channelId: string;
  channelName: string;
  responseUrl: string;
  triggerId: string;
}

/** §2a: the exact form body of a slash command, fields in Slack's order. */
export function commandBody(identity: Identity, f: CommandFields): string {
  return new URLSearchParams([
    ['token', identity.verificationToken],
    ['team_id', identity.teamId],
    ['team_domain', identity.teamDomain],
    ['channel_id', f.channelId],
    ['channel_name', f.channelName],
    ['user_id', f.user.id],
    ['user_name', f.user.name],
    ['command', f.command],
    ['text', f.text],
    ['api_app_id', identity.appId],
    ['is_enterprise_install', 'false'],
    ['response_url', f.responseUrl],
    ['trigger_id', f.triggerId],
  ]).toString();
}

/** Interactions travel as one form field `payload` holding the JSON document. */
export function interactionBody(payload: Json): string {
  return new URLSearchParams([['payload', JSON.stringify(payload)]]).toString();
}

export interface ButtonAction {
  blockId: string;
  button: Json;
  actionTs: string;
}

export function buttonAction(a: ButtonAction): Json {
  const action: Json = { type: 'button', action_id: a.button.action_id, block_id: a.blockId, text: a.button.text };
  if (a.button.value !== undefined) action.value = a.button.value;
  if (a.button.style !== undefined) action.style = a.button.style;
  if (a.button.url !== undefined) action.url = a.button.url;
  action.action_ts = a.actionTs;
  return action;
}

export interface MessageActionFields {
  user: User;
  channel: { id: string; name: string };
  messageTs: string;
  /** The message as Slack serialises it; undefined for ephemeral messages (Slack sends none). */
  message: Json | undefined;
  triggerId: string;
  responseUrl: string;
  action: Json;
}

/** §2b: block_actions from a button in a channel message (or, with message undefined, an ephemeral one). */
export function messageBlockActions(identity: Identity, f: MessageActionFields): Json {
  const payload: Json = {
    type: 'block_actions',
    user: payloadUser(identity, f.user),
    api_app_id: identity.appId,
    token: identity.verificationToken,
    container: {
      type: 'message',
      message_ts: f.messageTs,
      channel_id: f.channel.id,
      is_ephemeral: f.message === undefined,
    },
    trigger_id: f.triggerId,
    team: team(identity),
    enterprise: null,
    is_enterprise_install: false,
    channel: f.channel,
  };
  if (f.message !== undefined) payload.message = f.message;
  return { ...payload, state: { values: {} }, response_url: f.responseUrl, actions: [f.action] };
}

/** §2b variant: a button in a view (Home tab or modal). No channel, message or response_url. */
export function viewBlockActions(
  identity: Identity,
  f: { user: User; view: Json; triggerId: string; action: Json },
): Json {
  return {
    type: 'block_actions',
    user: payloadUser(identity, f.user),
    api_app_id: identity.appId,
    token: identity.verificationToken,
    container: { type: 'view', view_id: f.view.id },
    trigger_id: f.triggerId,
    team: team(identity),
    enterprise: null,
    is_enterprise_install: false,
    view: f.view,
    actions: [f.action],
  };
}

/** §2c: view_submission with the view as opened, carrying state.values. */
export function viewSubmission(identity: Identity, f: { user: User; view: Json; triggerId: string }): Json {
  return {
    type: 'view_submission',
    team: team(identity),
    user: payloadUser(identity, f.user),
    api_app_id: identity.appId,
    token: identity.verificationToken,
    trigger_id: f.triggerId,
    enterprise: null,
    is_enterprise_install: false,
    view: f.view,
    response_urls: [],
  };
}

/** §2d: the Events API envelope. */
export function eventEnvelope(identity: Identity, event: Json, eventId: string, eventTime: number): Json {
  return {
    token: identity.verificationToken,
    team_id: identity.teamId,
    api_app_id: identity.appId,
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: eventTime,
    authorizations: [
      {
        enterprise_id: null,
        team_id: identity.teamId,
        user_id: identity.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context:
      '4-' +
      Buffer.from(JSON.stringify({ et: event.type, tid: identity.teamId, aid: identity.appId })).toString('base64url'),
  };
}
