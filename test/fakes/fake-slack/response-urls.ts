import { randomSecret } from './clock.ts';
import type { Clock } from './clock.ts';
import type { CallLog } from './call-log.ts';
import { RESPONSE_URL_KEY } from './faults.ts';
import type { Faults } from './faults.ts';
import type { MessageStore } from './messages.ts';
import type { Identity, Json, ResponseUrlPost } from './types.ts';
import { ApiFailure } from './web-api/context.ts';
import { POST_TEXT_LIMIT, readContent, requireSomeContent } from './web-api/content.ts';
import type { ApiResponse } from './web-api/index.ts';

export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

/** Where a response_url came from decides what replace_original / delete_original act on. */
export type ResponseUrlOrigin =
  | { kind: 'command'; userId: string; channelId: string }
  | { kind: 'message'; userId: string; channelId: string; ts: string }
  | { kind: 'ephemeral'; userId: string; channelId: string; ts: string };

interface Entry {
  id: string;
  origin: ResponseUrlOrigin;
  issuedAt: number;
  uses: number;
  /** Commands: the ephemeral reply (ack body or earlier post) that replace_original replaces. */
  lastReplyTs?: string;
}

interface Deps {
  baseUrl: () => string;
  clock: Clock;
  messages: MessageStore;
  faults: Faults;
  log: CallLog;
  identity: Identity;
}

type Effect = Pick<ResponseUrlPost, 'effect'>['effect'];

/** The `${url}/hooks/response/<id>` endpoint: JSON posts, 5 uses within 30 minutes, then 404. */
export class ResponseUrls {
  private readonly entries = new Map<string, Entry>();
  private readonly postLog: ResponseUrlPost[] = [];
  private readonly deps: Deps;

  constructor(deps: Deps) {
    this.deps = deps;
  }

  issue(origin: ResponseUrlOrigin): string {
    const id = `${this.entries.size + 1}${randomSecret(20)}`;
    this.entries.set(id, { id, origin, issuedAt: this.deps.clock.now(), uses: 0 });
    return `${this.deps.baseUrl()}/hooks/response/${id}`;
  }

  /** A command's ack body became an ephemeral reply: later replace_original posts replace it. */
  noteCommandReply(url: string, ephemeralTs: string): void {
    const entry = this.entries.get(url.split('/').at(-1) ?? '');
    if (entry) entry.lastReplyTs = ephemeralTs;
  }

  posts(id?: string): ResponseUrlPost[] {
    const key = id?.split('/').at(-1);
    return structuredClone(this.postLog.filter((p) => key === undefined || p.id === key));
  }

  handle(id: string, rawBody: string, path: string): ApiResponse {
    const body = parseJson(rawBody);
    const record = (status: number, effect: Effect, error?: string): ApiResponse => {
      this.postLog.push({ id, at: Date.now(), body: body ?? rawBody, status, effect, ...(error ? { error } : {}) });
      return respond(status, error ? { ok: false, error } : { ok: true });
    };
    const entry = this.entries.get(id);
    if (!entry) {
      this.deps.log.unexpected({ at: Date.now(), httpMethod: 'POST', path, reason: 'unknown response_url' });
      return record(404, 'rejected', 'no_service');
    }
    const injected = this.deps.faults.takeFailure(RESPONSE_URL_KEY);
    if (injected) {
      const status = 'status' in injected ? injected.status : 500;
      return record(status, 'rejected', 'error' in injected ? injected.error : 'fake_http_error');
    }
    if (this.deps.clock.now() - entry.issuedAt > RESPONSE_URL_TTL_MS) return record(404, 'rejected', 'expired_url');
    if (entry.uses >= RESPONSE_URL_MAX_USES) return record(404, 'rejected', 'used_url');
    if (body === undefined) return record(400, 'rejected', 'invalid_payload');
    try {
      const effect = this.apply(entry, body);
      entry.uses += 1;
      return record(200, effect);
    } catch (error) {
      if (error instanceof ApiFailure)
        return record(error.error === 'message_not_found' ? 404 : 400, 'rejected', error.error);
      throw error;
    }
  }

  private apply(entry: Entry, body: Json): Effect {
    const { messages } = this.deps;
    const content = readContent(
      { text: body.text, blocks: body.blocks, attachments: body.attachments },
      POST_TEXT_LIMIT,
    );
    const text = content.text ?? '';
    const blocks = content.blocks ?? [];
    const hasContent = text.trim() !== '' || blocks.length > 0 || content.hasAttachments;
    if (isTrue(body.delete_original)) {
      this.deleteOriginal(entry);
      if (!hasContent) return 'deleted';
    } else if (isTrue(body.replace_original)) {
      requireSomeContent(text, blocks, content.hasAttachments);
      if (this.replaceOriginal(entry, text, blocks)) return 'replaced';
    }
    requireSomeContent(text, blocks, content.hasAttachments);
    const { origin } = entry;
    const threadTs = typeof body.thread_ts === 'string' && body.thread_ts !== '' ? body.thread_ts : undefined;
    if (body.response_type === 'in_channel') {
      messages.post({
        channel: origin.channelId,
        user: this.deps.identity.botUserId,
        fromBot: true,
        text,
        blocks,
        ...(threadTs ? { threadTs } : {}),
        via: 'response_url',
      });
      return 'in_channel';
    }
    const ephemeral = messages.addEphemeral({
      channel: origin.channelId,
      user: origin.userId,
      text,
      blocks,
      ...(threadTs ? { threadTs } : {}),
      via: 'response_url',
    });
    if (origin.kind === 'command') entry.lastReplyTs = ephemeral.ts;
    return 'ephemeral';
  }

  /** Returns false when there is nothing to replace (a command without an earlier reply): post a new one. */
  private replaceOriginal(entry: Entry, text: string, blocks: Json[]): boolean {
    const { messages } = this.deps;
    const { origin } = entry;
    if (origin.kind === 'message') {
      const message = messages.get(origin.channelId, origin.ts);
      if (!message || message.deleted) throw new ApiFailure('message_not_found');
      messages.change(message, { text, blocks, via: 'response_url' });
      return true;
    }
    const ts = origin.kind === 'ephemeral' ? origin.ts : entry.lastReplyTs;
    const ephemeral = ts === undefined ? undefined : messages.findEphemeral(origin.channelId, ts);
    if (!ephemeral || ephemeral.deleted) return false;
    messages.replaceEphemeral(ephemeral, text, blocks);
    return true;
  }

  private deleteOriginal(entry: Entry): void {
    const { messages } = this.deps;
    const { origin } = entry;
    if (origin.kind === 'message') {
      const message = messages.get(origin.channelId, origin.ts);
      if (!message || message.deleted) throw new ApiFailure('message_not_found');
      messages.remove(message, 'response_url');
      return;
    }
    const ts = origin.kind === 'ephemeral' ? origin.ts : entry.lastReplyTs;
    const ephemeral = ts === undefined ? undefined : messages.findEphemeral(origin.channelId, ts);
    if (ephemeral && !ephemeral.deleted) messages.deleteEphemeral(ephemeral);
  }
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

function parseJson(rawBody: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(rawBody);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

function respond(status: number, body: unknown): ApiResponse {
  return { status, body, headers: { 'content-type': 'application/json; charset=utf-8' } };
}
