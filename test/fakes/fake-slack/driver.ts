import { SLACK_FORM_CONTENT_TYPE, SLACK_JSON_CONTENT_TYPE } from '../../helpers/slack-sign.ts';
import { interactiveElements } from './block-kit.ts';
import { randomId } from './clock.ts';
import * as payloads from './payloads.ts';
import type { ResponseUrls } from './response-urls.ts';
import { sendSigned } from './signed-request.ts';
import { SOCKET_MODE, type SocketModeHub } from './socket-mode.ts';
import type { Block, DriverResponse, Json, SendOptions } from './types.ts';
import { applySubmitAck, buildStateValues } from './view-submission.ts';
import type { SubmitAckResult, SubmittedValues } from './view-submission.ts';
import { ApiFailure } from './web-api/context.ts';
import { POST_TEXT_LIMIT, readContent, requireSomeContent } from './web-api/content.ts';
import type { FakeState } from './web-api/context.ts';
import type { Channel, User } from './workspace.ts';

/** Thrown by click helpers when the button is not (or no longer) on the surface: the user could not click it. */
export class ButtonNotFoundError extends Error {
  override readonly name = 'ButtonNotFoundError';
}

export interface CommandInput {
  command?: string;
  text?: string;
  userId: string;
  channelId: string;
}

export interface CommandResult extends DriverResponse {
  responseUrl: string;
  triggerId: string;
  /** Why Slack would have refused to show the ack body (e.g. invalid_blocks), if it would. */
  replyError?: string;
}

export interface ClickInput {
  userId: string;
  channel: string;
  ts: string;
  actionId: string;
  /** Picks among several buttons sharing the action_id; the payload always carries the stored value. */
  value?: string;
  blockId?: string;
}

export interface EphemeralClickInput {
  userId: string;
  actionId: string;
  channel?: string;
  /** message_ts of the ephemeral; default: the newest ephemeral of the user that has the button. */
  ts?: string;
  value?: string;
}

export interface HomeClickInput {
  userId: string;
  actionId: string;
  value?: string;
}

export interface ClickResult extends DriverResponse {
  triggerId: string;
  responseUrl: string | undefined;
  payload: Json;
}

export interface SubmitInput {
  userId: string;
  /** Default: the modal on top of the user's stack. */
  viewId?: string;
  values?: SubmittedValues;
  bypassClientValidation?: boolean;
}

export interface SubmitResult extends DriverResponse, SubmitAckResult {
  viewId: string;
  payload: Json;
}

export interface EventOptions {
  eventId?: string;
  retryNum?: number;
  retryReason?: string;
}

export interface EventResult extends DriverResponse {
  eventId: string;
  envelope: Json;
}

interface DriverDeps {
  state: FakeState;
  responseUrls: ResponseUrls;
  /** Used when the driver is given SOCKET_MODE instead of the app's URL. */
  socketMode?: SocketModeHub;
}

/** Drives an app the way Slack does: signed commands, clicks, modal submissions and events. */
export class SlackDriver {
  private readonly deps: DriverDeps;

  constructor(deps: DriverDeps) {
    this.deps = deps;
  }

  async sendCommand(appUrl: string, input: CommandInput, opts?: SendOptions): Promise<CommandResult> {
    const { state, responseUrls } = this.deps;
    const user = this.user(input.userId);
    const channel = this.channelForUser(input.channelId, user.id);
    const responseUrl = responseUrls.issue({ kind: 'command', userId: user.id, channelId: channel.id });
    const triggerId = state.triggers.issue(user.id);
    const rawBody = payloads.commandBody(state.identity, {
      command: input.command ?? '/deploys',
      text: input.text ?? '',
      user,
      channelId: channel.id,
      channelName: state.workspace.payloadChannelName(channel),
      responseUrl,
      triggerId,
    });
    const response = await this.send(appUrl, rawBody, SLACK_FORM_CONTENT_TYPE, opts);
    const replyError =
      response.status === 200 && !response.timedOut
        ? this.showCommandReply(response, channel.id, user.id, responseUrl)
        : undefined;
    return { ...response, responseUrl, triggerId, ...(replyError ? { replyError } : {}) };
  }

  async clickButton(appUrl: string, input: ClickInput, opts?: SendOptions): Promise<ClickResult> {
    const { state, responseUrls } = this.deps;
    const user = this.user(input.userId);
    const message = state.messages.get(input.channel, input.ts);
    if (!message || message.deleted)
      throw new ButtonNotFoundError(`fake-slack: no message ${input.channel}/${input.ts} to click on`);
    const channel = this.channelForUser(input.channel, user.id);
    const { block, button } = findButton(message.blocks, input, `message ${input.channel}/${input.ts}`);
    const triggerId = state.triggers.issue(user.id);
    const responseUrl = responseUrls.issue({ kind: 'message', userId: user.id, channelId: channel.id, ts: message.ts });
    const payload = payloads.messageBlockActions(state.identity, {
      user,
      channel: { id: channel.id, name: state.workspace.payloadChannelName(channel) },
      messageTs: message.ts,
      message: state.messages.toJson(message),
      triggerId,
      responseUrl,
      action: payloads.buttonAction({ blockId: String(block.block_id), button, actionTs: state.clock.nextTs() }),
    });
    return {
      ...(await this.send(appUrl, payloads.interactionBody(payload), SLACK_FORM_CONTENT_TYPE, opts)),
      triggerId,
      responseUrl,
      payload,
    };
  }

  async clickEphemeralButton(appUrl: string, input: EphemeralClickInput, opts?: SendOptions): Promise<ClickResult> {
    const { state, responseUrls } = this.deps;
    const user = this.user(input.userId);
    const candidates = state.messages
      .ephemerals({ user: user.id, ...(input.channel ? { channel: input.channel } : {}) })
      .filter((e) => input.ts === undefined || e.ts === input.ts)
      .reverse();
    const hit = candidates
      .map((e) => ({ e, found: tryFindButton(e.blocks, input) }))
      .find((c) => c.found !== undefined);
    if (!hit?.found)
      throw new ButtonNotFoundError(`fake-slack: no ephemeral message of ${user.id} has a button ${input.actionId}`);
    const { e: ephemeral, found } = hit;
    const channel = this.channelForUser(ephemeral.channel, user.id);
    const triggerId = state.triggers.issue(user.id);
    const responseUrl = responseUrls.issue({
      kind: 'ephemeral',
      userId: user.id,
      channelId: channel.id,
      ts: ephemeral.ts,
    });
    const payload = payloads.messageBlockActions(state.identity, {
      user,
      channel: { id: channel.id, name: state.workspace.payloadChannelName(channel) },
      messageTs: ephemeral.ts,
      message: undefined,
      triggerId,
      responseUrl,
      action: payloads.buttonAction({
        blockId: String(found.block.block_id),
        button: found.button,
        actionTs: state.clock.nextTs(),
      }),
    });
    return {
      ...(await this.send(appUrl, payloads.interactionBody(payload), SLACK_FORM_CONTENT_TYPE, opts)),
      triggerId,
      responseUrl,
      payload,
    };
  }

  async clickHomeButton(appUrl: string, input: HomeClickInput, opts?: SendOptions): Promise<ClickResult> {
    const { state } = this.deps;
    const user = this.user(input.userId);
    const home = state.views.home(user.id);
    if (!home) throw new ButtonNotFoundError(`fake-slack: ${user.id} has no published Home tab`);
    const { block, button } = findButton(home.view.blocks as Block[], input, `the Home tab of ${user.id}`);
    const triggerId = state.triggers.issue(user.id);
    const payload = payloads.viewBlockActions(state.identity, {
      user,
      view: home.view,
      triggerId,
      action: payloads.buttonAction({ blockId: String(block.block_id), button, actionTs: state.clock.nextTs() }),
    });
    return {
      ...(await this.send(appUrl, payloads.interactionBody(payload), SLACK_FORM_CONTENT_TYPE, opts)),
      triggerId,
      responseUrl: undefined,
      payload,
    };
  }

  async submitView(appUrl: string, input: SubmitInput, opts?: SendOptions): Promise<SubmitResult> {
    const { state } = this.deps;
    const user = this.user(input.userId);
    const record = input.viewId === undefined ? state.views.top(user.id) : state.views.records.get(input.viewId);
    if (!record || record.kind !== 'modal' || record.userId !== user.id) {
      throw new Error(`fake-slack: ${user.id} has no modal ${input.viewId ?? '(none open)'} to submit`);
    }
    if (!record.open)
      throw new Error(`fake-slack: modal ${String(record.view.id)} is closed; the user cannot submit it`);
    const values = input.values ?? {};
    const view = {
      ...structuredClone(record.view),
      state: { values: buildStateValues(record.view, values, input.bypassClientValidation ?? false) },
    };
    const triggerId = state.triggers.issue(user.id);
    const payload = payloads.viewSubmission(state.identity, { user, view, triggerId });
    const response = await this.send(appUrl, payloads.interactionBody(payload), SLACK_FORM_CONTENT_TYPE, opts);
    const result = applySubmitAck(state.views, record, response);
    record.submissions.push({
      at: Date.now(),
      values: structuredClone(values),
      ack: result.ack,
      outcome: result.outcome,
    });
    return { ...response, ...result, viewId: String(record.view.id), payload };
  }

  async sendEvent(appUrl: string, event: Json, options: EventOptions = {}, opts?: SendOptions): Promise<EventResult> {
    const { state } = this.deps;
    const eventId = options.eventId ?? randomId('Ev', 10);
    const fullEvent = { ...event, event_ts: event.event_ts ?? state.clock.nextTs() };
    const envelope = payloads.eventEnvelope(state.identity, fullEvent, eventId, Math.floor(state.clock.now() / 1000));
    const headers: Record<string, string> = {};
    if (options.retryNum !== undefined) {
      headers['X-Slack-Retry-Num'] = String(options.retryNum);
      headers['X-Slack-Retry-Reason'] = options.retryReason ?? 'http_timeout';
    }
    const response = await this.send(appUrl, JSON.stringify(envelope), SLACK_JSON_CONTENT_TYPE, opts, headers);
    return { ...response, eventId, envelope };
  }

  /** app_home_opened for the user's Home tab, with the published view once there is one. */
  async openHome(appUrl: string, userId: string, opts?: SendOptions): Promise<EventResult> {
    const { state } = this.deps;
    const user = this.user(userId);
    const home = state.views.home(user.id);
    const event: Json = {
      type: 'app_home_opened',
      user: user.id,
      channel: state.workspace.dmChannelFor(user.id).id,
      tab: 'home',
    };
    if (home) event.view = home.view;
    return this.sendEvent(appUrl, event, {}, opts);
  }

  private send(
    appUrl: string,
    rawBody: string,
    contentType: string,
    opts?: SendOptions,
    headers?: Record<string, string>,
  ): Promise<DriverResponse> {
    if (appUrl === SOCKET_MODE) {
      if (!this.deps.socketMode) throw new Error('fake-slack: Socket Mode is not available in this fake');
      return this.deps.socketMode.deliverHttpBody(rawBody, contentType, opts?.timeoutMs);
    }
    return sendSigned(
      {
        appUrl,
        rawBody,
        contentType,
        signingSecret: this.deps.state.identity.signingSecret,
        ...(headers ? { headers } : {}),
      },
      opts,
    );
  }

  /** The ack body of a command is shown to the invoking user (ephemeral) or the channel (in_channel). */
  private showCommandReply(
    response: DriverResponse,
    channelId: string,
    userId: string,
    responseUrl: string,
  ): string | undefined {
    if (response.body.trim() === '') return undefined;
    const { state, responseUrls } = this.deps;
    const body = (
      typeof response.json === 'object' && response.json !== null ? response.json : { text: response.body }
    ) as Json;
    try {
      const content = readContent(
        { text: body.text, blocks: body.blocks, attachments: body.attachments },
        POST_TEXT_LIMIT,
      );
      const text = content.text ?? '';
      const blocks = content.blocks ?? [];
      requireSomeContent(text, blocks, content.hasAttachments);
      if (body.response_type === 'in_channel') {
        state.messages.post({
          channel: channelId,
          user: state.identity.botUserId,
          fromBot: true,
          text,
          blocks,
          via: 'command_ack',
        });
      } else {
        const ephemeral = state.messages.addEphemeral({
          channel: channelId,
          user: userId,
          text,
          blocks,
          via: 'command_ack',
        });
        responseUrls.noteCommandReply(responseUrl, ephemeral.ts);
      }
      return undefined;
    } catch (error) {
      if (error instanceof ApiFailure) return error.error;
      throw error;
    }
  }

  private user(userId: string): User {
    const user = this.deps.state.workspace.users.get(userId);
    if (!user)
      throw new Error(`fake-slack: unknown user ${userId}; call fake.addUser({ id: '${userId}', name }) first`);
    if (user.deleted) throw new Error(`fake-slack: user ${userId} is deactivated and cannot act`);
    return user;
  }

  /**
   * The channel the user acts in; DMs with the bot are known implicitly, other channels must be added. Private
   * channels need membership; anyone can read (and click in) a public channel.
   */
  private channelForUser(channelId: string, userId: string): Channel {
    const { workspace } = this.deps.state;
    const channel =
      channelId.startsWith('D') && channelId === `D${userId.slice(1)}`
        ? workspace.dmChannelFor(userId)
        : workspace.channels.get(channelId);
    if (!channel)
      throw new Error(
        `fake-slack: unknown channel ${channelId}; call fake.addChannel({ id: '${channelId}', name }) first`,
      );
    if (channel.isPrivate && !workspace.isMember(channel, userId)) {
      throw new Error(`fake-slack: ${userId} is not a member of ${channelId} and cannot act there`);
    }
    return channel;
  }
}

interface FoundButton {
  block: Block;
  button: Json;
}

function tryFindButton(
  blocks: readonly Block[],
  input: { actionId: string; value?: string; blockId?: string },
): FoundButton | undefined {
  for (const block of blocks) {
    if (input.blockId !== undefined && block.block_id !== input.blockId) continue;
    for (const element of interactiveElements(block)) {
      if (element.type !== 'button' || element.action_id !== input.actionId) continue;
      if (input.value !== undefined && element.value !== input.value) continue;
      return { block, button: element };
    }
  }
  return undefined;
}

function findButton(
  blocks: readonly Block[],
  input: { actionId: string; value?: string; blockId?: string },
  where: string,
): FoundButton {
  const found = tryFindButton(blocks, input);
  if (found) return found;
  const present = blocks.flatMap((b) =>
    interactiveElements(b)
      .filter((e) => e.type === 'button')
      .map((e) => String(e.action_id)),
  );
  const wanted = `${input.actionId}${input.value === undefined ? '' : ` with value ${input.value}`}`;
  throw new ButtonNotFoundError(
    `fake-slack: ${where} has no button ${wanted} (buttons: ${present.join(', ') || 'none'})`,
  );
}
