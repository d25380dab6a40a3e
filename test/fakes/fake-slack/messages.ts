import type { Clock } from './clock.ts';
import type {
  Block,
  Identity,
  Json,
  MessageMetadata,
  RevisionSource,
  StoredEphemeral,
  StoredMessage,
} from './types.ts';

export interface NewMessage {
  channel: string;
  user: string;
  fromBot: boolean;
  text: string;
  blocks: Block[];
  metadata?: MessageMetadata;
  threadTs?: string;
  replyBroadcast?: boolean;
  via: RevisionSource;
}

export interface MessageChange {
  text: string;
  blocks: Block[];
  metadata?: MessageMetadata;
  via: RevisionSource;
}

/** Channel messages (with their full revision history) and ephemeral messages. */
export class MessageStore {
  private readonly byChannel = new Map<string, Map<string, StoredMessage>>();
  private readonly ephemeralList: StoredEphemeral[] = [];
  private readonly clock: Clock;
  private readonly identity: Identity;

  constructor(clock: Clock, identity: Identity) {
    this.clock = clock;
    this.identity = identity;
  }

  post(input: NewMessage): StoredMessage {
    const ts = this.clock.nextTs();
    const message: StoredMessage = {
      channel: input.channel,
      ts,
      user: input.user,
      ...(input.fromBot ? { botId: this.identity.botId, appId: this.identity.appId } : {}),
      text: input.text,
      blocks: input.blocks,
      ...(input.metadata ? { metadata: input.metadata } : {}),
      ...(input.threadTs ? { threadTs: input.threadTs } : {}),
      replyBroadcast: input.replyBroadcast ?? false,
      deleted: false,
      history: [],
    };
    message.history.push(revision(this.clock, input));
    this.channelMap(input.channel).set(ts, message);
    return message;
  }

  get(channel: string, ts: string): StoredMessage | undefined {
    return this.byChannel.get(channel)?.get(ts);
  }

  change(message: StoredMessage, change: MessageChange): void {
    message.text = change.text;
    message.blocks = change.blocks;
    if (change.metadata) message.metadata = change.metadata;
    message.history.push(revision(this.clock, { ...change, metadata: message.metadata }));
  }

  remove(message: StoredMessage, via: RevisionSource): void {
    message.deleted = true;
    message.history.push({ at: this.clock.now(), via, text: message.text, blocks: message.blocks });
  }

  /** Top-level timeline (what conversations.history shows): no thread replies unless broadcast, oldest first. */
  timeline(channel: string, opts: { includeDeleted?: boolean } = {}): StoredMessage[] {
    return this.all(channel).filter(
      (m) =>
        (opts.includeDeleted || !m.deleted) && (m.threadTs === undefined || m.threadTs === m.ts || m.replyBroadcast),
    );
  }

  /** Replies in a thread, oldest first, without the parent. */
  replies(channel: string, threadTs: string): StoredMessage[] {
    return this.all(channel).filter((m) => !m.deleted && m.threadTs === threadTs && m.ts !== threadTs);
  }

  addEphemeral(input: Omit<StoredEphemeral, 'ts' | 'deleted' | 'history'>): StoredEphemeral {
    const ephemeral: StoredEphemeral = { ...input, ts: this.clock.nextTs(), deleted: false, history: [] };
    ephemeral.history.push({ at: this.clock.now(), via: input.via, text: input.text, blocks: input.blocks });
    this.ephemeralList.push(ephemeral);
    return ephemeral;
  }

  replaceEphemeral(ephemeral: StoredEphemeral, text: string, blocks: Block[]): void {
    ephemeral.text = text;
    ephemeral.blocks = blocks;
    ephemeral.history.push({ at: this.clock.now(), via: 'response_url', text, blocks });
  }

  deleteEphemeral(ephemeral: StoredEphemeral): void {
    ephemeral.deleted = true;
    ephemeral.history.push({
      at: this.clock.now(),
      via: 'response_url',
      text: ephemeral.text,
      blocks: ephemeral.blocks,
    });
  }

  findEphemeral(channel: string, ts: string): StoredEphemeral | undefined {
    return this.ephemeralList.find((e) => e.channel === channel && e.ts === ts);
  }

  ephemerals(filter: { channel?: string; user?: string; includeDeleted?: boolean } = {}): StoredEphemeral[] {
    return this.ephemeralList.filter(
      (e) =>
        (filter.includeDeleted || !e.deleted) &&
        (filter.channel === undefined || e.channel === filter.channel) &&
        (filter.user === undefined || e.user === filter.user),
    );
  }

  /** The message as Slack serialises it in API responses and interaction payloads. */
  toJson(message: StoredMessage, opts: { includeMetadata?: boolean } = {}): Json {
    const json: Json = { type: 'message', user: message.user };
    if (message.botId) {
      json.bot_id = message.botId;
      json.app_id = message.appId;
    }
    json.text = message.text;
    if (message.blocks.length > 0) json.blocks = message.blocks;
    json.ts = message.ts;
    json.team = this.identity.teamId;
    if (message.botId) {
      json.bot_profile = {
        id: this.identity.botId,
        app_id: this.identity.appId,
        name: this.identity.botName,
        deleted: false,
        team_id: this.identity.teamId,
      };
    }
    const edits = message.history.filter((r) => r.via === 'chat.update' || r.via === 'response_url');
    const lastEdit = edits.at(-1);
    if (lastEdit) json.edited = { user: message.user, ts: `${Math.floor(lastEdit.at / 1000)}.000000` };
    if (message.threadTs !== undefined) {
      json.thread_ts = message.threadTs;
      if (message.threadTs !== message.ts) json.parent_user_id = this.get(message.channel, message.threadTs)?.user;
    }
    const replies = this.replies(message.channel, message.ts);
    if (replies.length > 0) {
      json.thread_ts = message.ts;
      json.reply_count = replies.length;
      json.reply_users = [...new Set(replies.map((r) => r.user))];
      json.reply_users_count = (json.reply_users as string[]).length;
      json.latest_reply = replies.at(-1)?.ts;
    }
    if (message.replyBroadcast) json.subtype = 'thread_broadcast';
    if (opts.includeMetadata && message.metadata) json.metadata = message.metadata;
    return json;
  }

  private all(channel: string): StoredMessage[] {
    return [...(this.byChannel.get(channel)?.values() ?? [])].sort((a, b) => compareTs(a.ts, b.ts));
  }

  private channelMap(channel: string): Map<string, StoredMessage> {
    let map = this.byChannel.get(channel);
    if (!map) {
      map = new Map();
      this.byChannel.set(channel, map);
    }
    return map;
  }
}

export function compareTs(a: string, b: string): number {
  const [as, af = ''] = a.split('.');
  const [bs, bf = ''] = b.split('.');
  return Number(as) - Number(bs) || Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}

function revision(clock: Clock, change: Omit<MessageChange, 'metadata'> & { metadata?: MessageMetadata }) {
  return {
    at: clock.now(),
    via: change.via,
    text: change.text,
    blocks: change.blocks,
    ...(change.metadata ? { metadata: change.metadata } : {}),
  };
}
