import type { ChannelInput, Identity, Json, UserInput } from './types.ts';

/** Default bot scopes: what greenlight's manifest asks for, plus history scopes used in tests. */
export const DEFAULT_SCOPES: readonly string[] = [
  'chat:write',
  'chat:write.public',
  'commands',
  'users:read',
  'users:read.email',
  'im:write',
  'channels:history',
  'groups:history',
  'channels:read',
  'groups:read',
];

export interface User {
  id: string;
  name: string;
  realName: string;
  email: string | undefined;
  tz: string;
  isBot: boolean;
  deleted: boolean;
  teamId: string | undefined;
  isRestricted: boolean;
  isUltraRestricted: boolean;
  isStranger: boolean;
  emailConfirmed: boolean;
}

export interface Channel {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  isArchived: boolean;
  botIsMember: boolean;
  /** undefined = every known user is a member. */
  members: Set<string> | undefined;
  /** For IM channels: the human on the other side. */
  imUser?: string;
  created: number;
}

/** Users, channels, DMs and the token's scopes: the directory part of the workspace. */
export class Workspace {
  readonly identity: Identity;
  readonly users = new Map<string, User>();
  readonly channels = new Map<string, Channel>();
  scopes: string[] = [...DEFAULT_SCOPES];

  constructor(identity: Identity) {
    this.identity = identity;
    this.addUser({ id: identity.botUserId, name: identity.botName, realName: identity.botName, isBot: true });
  }

  addUser(input: UserInput): void {
    this.users.set(input.id, {
      id: input.id,
      name: input.name,
      realName: input.realName ?? input.name,
      email: input.email,
      tz: input.tz ?? 'Europe/Berlin',
      isBot: input.isBot ?? false,
      deleted: input.deleted ?? false,
      teamId: input.teamId,
      isRestricted: input.isRestricted ?? false,
      isUltraRestricted: input.isUltraRestricted ?? false,
      isStranger: input.isStranger ?? false,
      emailConfirmed: input.emailConfirmed ?? true,
    });
  }

  addChannel(input: ChannelInput): void {
    this.channels.set(input.id, {
      id: input.id,
      name: input.name,
      isPrivate: input.isPrivate ?? false,
      isIm: false,
      isArchived: input.isArchived ?? false,
      botIsMember: input.botIsMember ?? false,
      members: input.members === undefined ? undefined : new Set(input.members),
      created: Math.floor(Date.now() / 1000),
    });
  }

  hasScope(scope: string): boolean {
    return this.scopes.includes(scope);
  }

  /** The stable D… id of the DM between the bot and a user, created on first use (like conversations.open). */
  dmChannelFor(userId: string): Channel {
    const id = `D${userId.slice(1)}`;
    let channel = this.channels.get(id);
    if (!channel) {
      channel = {
        id,
        name: id,
        isPrivate: true,
        isIm: true,
        isArchived: false,
        botIsMember: true,
        members: new Set([userId]),
        imUser: userId,
        created: Math.floor(Date.now() / 1000),
      };
      this.channels.set(id, channel);
    }
    return channel;
  }

  isMember(channel: Channel, userId: string): boolean {
    if (userId === this.identity.botUserId) return channel.botIsMember;
    const user = this.users.get(userId);
    if (!user || user.deleted) return false;
    return channel.members === undefined ? !channel.isIm : channel.members.has(userId);
  }

  /** Channel name as Slack puts it in command / action payloads. */
  payloadChannelName(channel: Channel): string {
    return channel.isIm ? 'directmessage' : channel.name;
  }

  userJson(user: User): Json {
    const tz = tzInfo(user.tz);
    const profile: Json = {
      real_name: user.realName,
      display_name: user.name,
      real_name_normalized: user.realName,
      display_name_normalized: user.name,
      team: user.teamId ?? this.identity.teamId,
      image_48: `https://avatars.example.invalid/${user.id}_48.png`,
    };
    if (user.email !== undefined && this.hasScope('users:read.email')) profile.email = user.email;
    if (user.isBot && user.id === this.identity.botUserId) profile.bot_id = this.identity.botId;
    return {
      id: user.id,
      team_id: user.teamId ?? this.identity.teamId,
      name: user.name,
      deleted: user.deleted,
      color: '9f69e7',
      real_name: user.realName,
      tz: user.tz,
      tz_label: tz.label,
      tz_offset: tz.offset,
      profile,
      is_admin: false,
      is_owner: false,
      is_primary_owner: false,
      is_restricted: user.isRestricted,
      is_ultra_restricted: user.isUltraRestricted,
      ...(user.isStranger && { is_stranger: true }),
      is_email_confirmed: user.emailConfirmed,
      is_bot: user.isBot,
      is_app_user: false,
      updated: 1_700_000_000,
    };
  }

  channelJson(channel: Channel): Json {
    if (channel.isIm) {
      return {
        id: channel.id,
        created: channel.created,
        is_im: true,
        is_org_shared: false,
        user: channel.imUser,
        is_user_deleted: this.users.get(channel.imUser ?? '')?.deleted ?? false,
        priority: 0,
      };
    }
    return {
      id: channel.id,
      name: channel.name,
      name_normalized: channel.name,
      is_channel: !channel.isPrivate,
      is_group: channel.isPrivate,
      is_im: false,
      is_mpim: false,
      is_private: channel.isPrivate,
      is_archived: channel.isArchived,
      is_general: false,
      is_shared: false,
      is_ext_shared: false,
      is_org_shared: false,
      is_member: channel.botIsMember,
      created: channel.created,
      creator: 'U0000ADMIN',
      context_team_id: this.identity.teamId,
      topic: { value: '', creator: '', last_set: 0 },
      purpose: { value: '', creator: '', last_set: 0 },
    };
  }
}

function tzInfo(tz: string): { label: string; offset: number } {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' }).formatToParts(
      new Date(),
    );
    const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    const offset = match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 3600 + Number(match[3]) * 60) : 0;
    return { label: tz, offset };
  } catch {
    return { label: tz, offset: 0 };
  }
}
