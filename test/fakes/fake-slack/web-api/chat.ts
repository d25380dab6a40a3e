import type { Channel } from '../workspace.ts';
import type { Json, StoredMessage } from '../types.ts';
import { fail } from './context.ts';
import type { Args, FakeState } from './context.ts';
import { POST_TEXT_LIMIT, readContent, readMetadata, requireSomeContent, UPDATE_TEXT_LIMIT } from './content.ts';

/**
 * The channel a post goes to. Slack accepts a user id in chat.postMessage and posts to the bot's DM with that
 * user; everywhere else a U… id is not a channel.
 */
export function resolvePostChannel(state: FakeState, channelArg: string): Channel {
  const user = state.workspace.users.get(channelArg);
  if (user && /^[UW]/.test(channelArg)) {
    if (user.deleted) fail('user_disabled');
    return state.workspace.dmChannelFor(user.id);
  }
  return findChannel(state, channelArg);
}

/** channel_not_found also for private channels the bot is not in: Slack does not reveal they exist. */
export function findChannel(state: FakeState, channelId: string): Channel {
  const channel = state.workspace.channels.get(channelId);
  if (!channel || (channel.isPrivate && !channel.botIsMember)) fail('channel_not_found');
  return channel;
}

export function ensureCanPost(state: FakeState, channel: Channel): void {
  if (channel.isArchived) fail('is_archived');
  if (!channel.botIsMember && !(state.workspace.hasScope('chat:write.public') && !channel.isPrivate)) {
    fail('not_in_channel');
  }
}

export function postMessage(state: FakeState, args: Args): Json {
  const channel = resolvePostChannel(state, args.required('channel'));
  ensureCanPost(state, channel);
  const content = readContent(
    { text: args.raw.text, blocks: args.json('blocks'), attachments: args.json('attachments') },
    POST_TEXT_LIMIT,
  );
  const text = content.text ?? '';
  const blocks = content.blocks ?? [];
  requireSomeContent(text, blocks, content.hasAttachments);
  const metadata = readMetadata(args.json('metadata'));
  const threadTs = threadRoot(state, channel.id, args.str('thread_ts'));
  const message = state.messages.post({
    channel: channel.id,
    user: state.identity.botUserId,
    fromBot: true,
    text,
    blocks,
    ...(metadata ? { metadata } : {}),
    ...(threadTs ? { threadTs, replyBroadcast: args.bool('reply_broadcast') } : {}),
    via: 'chat.postMessage',
  });
  return { channel: channel.id, ts: message.ts, message: state.messages.toJson(message) };
}

/** thread_ts must name a message in the channel; a reply's ts means its parent's thread. */
function threadRoot(state: FakeState, channel: string, threadTs: string | undefined): string | undefined {
  if (threadTs === undefined || threadTs === '') return undefined;
  const parent = state.messages.get(channel, threadTs);
  if (!parent || parent.deleted) fail('thread_not_found');
  return parent.threadTs ?? parent.ts;
}

export function update(state: FakeState, args: Args): Json {
  const channel = findChannel(state, args.required('channel'));
  const message = ownMessage(state, channel.id, args.required('ts'), 'cant_update_message');
  if (channel.isArchived) fail('is_archived');
  const content = readContent(
    { text: args.raw.text, blocks: args.json('blocks'), attachments: args.json('attachments') },
    UPDATE_TEXT_LIMIT,
  );
  // Omitted text/blocks keep the current ones; blocks=[] removes them.
  const text = content.text ?? message.text;
  const blocks = content.blocks ?? message.blocks;
  requireSomeContent(text, blocks, content.hasAttachments);
  const metadata = readMetadata(args.json('metadata'));
  state.messages.change(message, { text, blocks, ...(metadata ? { metadata } : {}), via: 'chat.update' });
  return { channel: channel.id, ts: message.ts, text: message.text, message: state.messages.toJson(message) };
}

export function postEphemeral(state: FakeState, args: Args): Json {
  const channel = resolvePostChannel(state, args.required('channel'));
  ensureCanPost(state, channel);
  const user = args.required('user');
  if (!state.workspace.isMember(channel, user)) fail('user_not_in_channel');
  const content = readContent(
    { text: args.raw.text, blocks: args.json('blocks'), attachments: args.json('attachments') },
    POST_TEXT_LIMIT,
  );
  const text = content.text ?? '';
  const blocks = content.blocks ?? [];
  requireSomeContent(text, blocks, content.hasAttachments);
  const threadTs = args.str('thread_ts');
  const ephemeral = state.messages.addEphemeral({
    channel: channel.id,
    user,
    text,
    blocks,
    ...(threadTs ? { threadTs } : {}),
    via: 'chat.postEphemeral',
  });
  return { message_ts: ephemeral.ts };
}

export function deleteMessage(state: FakeState, args: Args): Json {
  const channel = findChannel(state, args.required('channel'));
  const message = ownMessage(state, channel.id, args.required('ts'), 'cant_delete_message');
  state.messages.remove(message, 'chat.delete');
  return { channel: channel.id, ts: message.ts };
}

function ownMessage(state: FakeState, channel: string, ts: string, notOwnError: string): StoredMessage {
  const message = state.messages.get(channel, ts);
  if (!message || message.deleted) fail('message_not_found');
  if (message.user !== state.identity.botUserId) fail(notOwnError);
  return message;
}
