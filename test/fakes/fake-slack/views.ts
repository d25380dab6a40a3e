import { randomId, randomSecret } from './clock.ts';
import type { Clock } from './clock.ts';
import { normalizeBlocks } from './block-kit.ts';
import type { Block, Identity, Json, ViewRecord } from './types.ts';

/** Slack allows a modal stack of at most three views. */
export const MAX_STACK = 3;

/** Modals (per-user stacks) and published Home tabs. */
export class ViewStore {
  readonly records = new Map<string, ViewRecord>();
  private readonly stacks = new Map<string, string[]>();
  private readonly homes = new Map<string, string>();
  private readonly clock: Clock;
  private readonly identity: Identity;

  constructor(clock: Clock, identity: Identity) {
    this.clock = clock;
    this.identity = identity;
  }

  /** views.open: a new root modal; whatever the user had open is closed. */
  open(userId: string, input: Json, via: ViewRecord['via'] = 'views.open'): ViewRecord {
    for (const id of this.stacks.get(userId) ?? []) this.markClosed(id);
    const record = this.create(userId, input, 'modal', via, null, null);
    this.stacks.set(userId, [record.view.id as string]);
    return record;
  }

  push(
    userId: string,
    input: Json,
    via: ViewRecord['via'] = 'views.push',
  ): ViewRecord | 'push_limit_reached' | 'no_open_view' {
    const stack = this.stacks.get(userId) ?? [];
    const top = stack.at(-1);
    if (top === undefined) return 'no_open_view';
    if (stack.length >= MAX_STACK) return 'push_limit_reached';
    const record = this.create(userId, input, 'modal', via, top, stack[0] ?? top);
    stack.push(record.view.id as string);
    return record;
  }

  /** Replaces a view's content in place: same id, new hash. */
  update(record: ViewRecord, input: Json): void {
    const old = record.view;
    record.view = {
      ...this.render(input, record.kind),
      id: old.id,
      previous_view_id: old.previous_view_id,
      root_view_id: old.root_view_id,
    };
  }

  publishHome(userId: string, input: Json): ViewRecord {
    const existingId = this.homes.get(userId);
    const existing = existingId === undefined ? undefined : this.records.get(existingId);
    if (existing) {
      this.update(existing, input);
      return existing;
    }
    const record = this.create(userId, input, 'home', 'views.publish', null, null);
    this.homes.set(userId, record.view.id as string);
    return record;
  }

  home(userId: string): ViewRecord | undefined {
    const id = this.homes.get(userId);
    return id === undefined ? undefined : this.records.get(id);
  }

  /** The modal the user is looking at (top of their stack). */
  top(userId: string): ViewRecord | undefined {
    const id = this.stacks.get(userId)?.at(-1);
    return id === undefined ? undefined : this.records.get(id);
  }

  findByExternalId(externalId: string): ViewRecord | undefined {
    return [...this.records.values()].find((r) => r.view.external_id === externalId && externalId !== '');
  }

  /** Closes the top view of the user's stack (empty ack to view_submission). */
  closeTop(userId: string): void {
    const stack = this.stacks.get(userId) ?? [];
    const id = stack.pop();
    if (id !== undefined) this.markClosed(id);
  }

  /** response_action "clear": closes the whole stack. */
  clear(userId: string): void {
    for (const id of this.stacks.get(userId) ?? []) this.markClosed(id);
    this.stacks.set(userId, []);
  }

  lastOpened(userId: string): ViewRecord | undefined {
    return [...this.records.values()].filter((r) => r.userId === userId && r.kind === 'modal').at(-1);
  }

  private markClosed(id: string): void {
    const record = this.records.get(id);
    if (record) record.open = false;
  }

  private create(
    userId: string,
    input: Json,
    kind: 'modal' | 'home',
    via: ViewRecord['via'],
    previous: string | null,
    root: string | null,
  ): ViewRecord {
    const id = randomId('V', 10);
    const view = { ...this.render(input, kind), id, previous_view_id: previous, root_view_id: root ?? id };
    const record: ViewRecord = { view, userId, kind, via, open: true, submissions: [] };
    this.records.set(id, record);
    return record;
  }

  /** The view object as Slack returns it from views.* and sends it in payloads. */
  private render(input: Json, kind: 'modal' | 'home'): Json {
    const blocks = normalizeBlocks((input.blocks as Block[] | undefined) ?? []);
    return {
      id: '',
      team_id: this.identity.teamId,
      type: kind,
      blocks,
      private_metadata: (input.private_metadata as string | undefined) ?? '',
      callback_id: (input.callback_id as string | undefined) ?? '',
      state: { values: {} },
      hash: `${Math.floor(this.clock.now() / 1000)}.${randomSecret(8)}`,
      title: plainText(input.title),
      clear_on_close: input.clear_on_close === true || input.clear_on_close === 'true',
      notify_on_close: input.notify_on_close === true || input.notify_on_close === 'true',
      close: plainText(input.close),
      submit: plainText(input.submit),
      previous_view_id: null,
      root_view_id: null,
      app_id: this.identity.appId,
      external_id: (input.external_id as string | undefined) ?? '',
      app_installed_team_id: this.identity.teamId,
      bot_id: this.identity.botId,
    };
  }
}

function plainText(value: unknown): Json | null {
  if (typeof value !== 'object' || value === null) return null;
  const text = structuredClone(value) as Json;
  if (text.type === 'plain_text' && text.emoji === undefined) text.emoji = true;
  return text;
}
