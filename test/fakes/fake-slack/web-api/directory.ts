import type { Channel } from '../workspace.ts';
import type { Json, StoredMessage } from '../types.ts';
import { compareTs } from '../messages.ts';
import { ApiFailure, fail, requireScope } from './context.ts';
import type { Args, FakeState } from './context.ts';
import { findChannel } from './chat.ts';

/** auth.test, users.*, conversations.*: the read side of the workspace. */

export function authTest(state: FakeState): Json {
  const { identity } = state;
  return {
    url: `https://${identity.teamDomain}.slack.com/`,
    team: identity.teamDomain,
    user: identity.botName,
    team_id: identity.teamId,
    user_id: identity.botUserId,
    bot_id: identity.botId,
    is_enterprise_install: false,
  };
}

export function usersInfo(state: FakeState, args: Args): Json {
  const user = state.workspace.users.get(args.required('user'));
  if (!user) fail('user_not_found');
  return { user: state.workspace.userJson(user) };
}

/** Deactivated users and bots are not found by email (Slack answers users_not_found for them too). */
export function usersLookupByEmail(state: FakeState, args: Args): Json {
  const email = args.required('email').toLowerCase();
  const user = [...state.workspace.users.values()].find(
    (u) => !u.deleted && !u.isBot && u.email?.toLowerCase() === email,
  );
  if (!user) fail('users_not_found');
  return { user: state.workspace.userJson(user) };
}

export function conversationsOpen(state: FakeState, args: Args): Json {
  const users = (args.str('users') ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (users.length === 0) fail('users_list_not_supplied');
  if (users.length > 1)
    throw new ApiFailure('not_supported_by_fake', {}, 'conversations.open with several users (mpim)');
  const user = state.workspace.users.get(users[0] ?? '');
  if (!user) fail('user_not_found');
  if (user.deleted) fail('user_disabled');
  const existed = state.workspace.channels.has(`D${user.id.slice(1)}`);
  const channel = state.workspace.dmChannelFor(user.id);
  const body: Json = { channel: args.bool('return_im') ? state.workspace.channelJson(channel) : { id: channel.id } };
  if (existed) Object.assign(body, { no_op: true, already_open: true });
  return body;
}

export function conversationsInfo(state: FakeState, args: Args): Json {
  const channel = findChannel(state, args.required('channel'));
  requireScope(state, scopeFor(channel, 'read'));
  return { channel: state.workspace.channelJson(channel) };
}

export function conversationsHistory(state: FakeState, args: Args): Json {
  const channel = readableChannel(state, args);
  const oldest = args.str('oldest') ?? '0';
  const latest = args.str('latest') ?? `${Math.floor(state.clock.now() / 1000) + 1}.000000`;
  const inclusive = args.bool('inclusive');
  const limit = Math.min(Math.max(args.int('limit', 100), 1), 999);
  const withMetadata = args.bool('include_all_metadata');
  const inRange = state.messages
    .timeline(channel.id)
    .filter((m) => inWindow(m, oldest, latest, inclusive))
    .reverse();
  const start = decodeCursor(args.str('cursor'));
  const page = inRange.slice(start, start + limit);
  const hasMore = start + limit < inRange.length;
  return {
    messages: page.map((m) => state.messages.toJson(m, { includeMetadata: withMetadata })),
    has_more: hasMore,
    pin_count: 0,
    channel_actions_ts: null,
    channel_actions_count: 0,
    response_metadata: { next_cursor: hasMore ? encodeCursor(start + limit) : '' },
  };
}

export function conversationsReplies(state: FakeState, args: Args): Json {
  const channel = readableChannel(state, args);
  const parent = state.messages.get(channel.id, args.required('ts'));
  if (!parent || parent.deleted) fail('thread_not_found');
  const rootTs = parent.threadTs ?? parent.ts;
  const root = state.messages.get(channel.id, rootTs) ?? parent;
  const withMetadata = args.bool('include_all_metadata');
  const all = [root, ...state.messages.replies(channel.id, rootTs)];
  const limit = Math.min(Math.max(args.int('limit', 1000), 1), 1000);
  const start = decodeCursor(args.str('cursor'));
  const page = all.slice(start, start + limit);
  const hasMore = start + limit < all.length;
  return {
    messages: page.map((m) => state.messages.toJson(m, { includeMetadata: withMetadata })),
    has_more: hasMore,
    response_metadata: { next_cursor: hasMore ? encodeCursor(start + limit) : '' },
  };
}

/** History needs the type's history scope, and a bot must be in the channel to read it. */
function readableChannel(state: FakeState, args: Args): Channel {
  const channel = findChannel(state, args.required('channel'));
  requireScope(state, scopeFor(channel, 'history'));
  if (!channel.botIsMember) fail('not_in_channel');
  return channel;
}

function scopeFor(channel: Channel, kind: 'read' | 'history'): string {
  if (channel.isIm) return `im:${kind}`;
  return channel.isPrivate ? `groups:${kind}` : `channels:${kind}`;
}

function inWindow(message: StoredMessage, oldest: string, latest: string, inclusive: boolean): boolean {
  const afterOldest = compareTs(message.ts, oldest);
  const beforeLatest = compareTs(latest, message.ts);
  return inclusive ? afterOldest >= 0 && beforeLatest >= 0 : afterOldest > 0 && beforeLatest > 0;
}

function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64');
}

function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString());
  if (!match) fail('invalid_cursor');
  return Number(match[1]);
}

/** conversations.members: user ids, paged with a cursor; needs the read scope of the channel's type. */
export function conversationsMembers(state: FakeState, args: Args): Json {
  const channel = findChannel(state, args.required('channel'));
  requireScope(state, scopeFor(channel, 'read'));
  if (channel.isPrivate && !channel.isIm && !channel.botIsMember) fail('channel_not_found');
  const everyone = [...state.workspace.users.values()]
    .filter((u) => state.workspace.isMember(channel, u.id))
    .map((u) => u.id)
    .sort();
  const limit = Math.min(Math.max(args.int('limit', 100), 1), 1000);
  const start = decodeCursor(args.str('cursor'));
  const page = everyone.slice(start, start + limit);
  const more = start + limit < everyone.length;
  return { members: page, response_metadata: { next_cursor: more ? encodeCursor(start + limit) : '' } };
}

/**
 * conversations.list: channels (not DMs) of the requested types, paginated by cursor. Public channels need
 * channels:read, private ones groups:read; a bot only sees private channels it is in.
 */
export function conversationsList(state: FakeState, args: Args): Json {
  const types = (args.str('types') ?? 'public_channel')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (types.includes('public_channel')) requireScope(state, 'channels:read');
  if (types.includes('private_channel')) requireScope(state, 'groups:read');
  const excludeArchived = args.bool('exclude_archived');
  const all = [...state.workspace.channels.values()].filter(
    (c) =>
      !c.isIm &&
      (c.isPrivate ? types.includes('private_channel') && c.botIsMember : types.includes('public_channel')) &&
      !(excludeArchived && c.isArchived),
  );
  const limit = Math.min(Math.max(args.int('limit', 100), 1), 1000);
  const start = decodeCursor(args.str('cursor'));
  const page = all.slice(start, start + limit);
  const hasMore = start + limit < all.length;
  return {
    channels: page.map((c) => state.workspace.channelJson(c)),
    response_metadata: { next_cursor: hasMore ? encodeCursor(start + limit) : '' },
  };
}

/** conversations.join (channels:join): the bot joins a public channel; private ones need an /invite. */
export function conversationsJoin(state: FakeState, args: Args): Json {
  const channel = findChannel(state, args.required('channel'));
  if (channel.isPrivate) fail('method_not_supported_for_channel_type');
  if (channel.isArchived) fail('is_archived');
  const already = channel.botIsMember;
  channel.botIsMember = true;
  return {
    channel: state.workspace.channelJson(channel),
    ...(already && { warning: 'already_in_channel', response_metadata: { warnings: ['already_in_channel'] } }),
  };
}
