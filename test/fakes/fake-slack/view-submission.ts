import { validateView } from './block-kit.ts';
import type { DriverResponse, Json, ViewRecord } from './types.ts';
import type { ViewStore } from './views.ts';

/** Values a test types into a modal: { [block_id]: { [action_id]: string } }. */
export type SubmittedValues = Record<string, Record<string, string>>;

export type SubmitOutcome = 'closed' | 'errors' | 'updated' | 'pushed' | 'cleared' | 'failed' | 'invalid_ack';

interface InputBlock {
  blockId: string;
  optional: boolean;
  element: Json;
}

function inputBlocks(view: Json): InputBlock[] {
  const blocks = Array.isArray(view.blocks) ? (view.blocks as Json[]) : [];
  return blocks
    .filter((b) => b.type === 'input' && typeof b.element === 'object' && b.element !== null)
    .map((b) => ({ blockId: String(b.block_id), optional: b.optional === true, element: b.element as Json }));
}

/**
 * state.values as Slack builds it: every input block appears (untouched ones with a null value). Like the Slack
 * client, refuses to "submit" a form a person could not submit (required input empty, min/max_length violated)
 * unless `bypassClientValidation` is set.
 */
export function buildStateValues(view: Json, values: SubmittedValues, bypassClientValidation: boolean): Json {
  const inputs = inputBlocks(view);
  for (const [blockId, byAction] of Object.entries(values)) {
    const input = inputs.find((i) => i.blockId === blockId);
    if (!input)
      throw new Error(
        `fake-slack: view ${String(view.id)} has no input block ` +
          `"${blockId}" (has: ${inputs.map((i) => i.blockId).join(', ')})`,
      );
    for (const actionId of Object.keys(byAction)) {
      if (input.element.action_id !== actionId) {
        throw new Error(
          `fake-slack: input block "${blockId}" has action_id "${String(input.element.action_id)}", not "${actionId}"`,
        );
      }
    }
  }
  const state: Record<string, Json> = {};
  for (const input of inputs) {
    const actionId = String(input.element.action_id);
    const typed = values[input.blockId]?.[actionId];
    if (!bypassClientValidation) clientValidate(input, typed);
    state[input.blockId] = { [actionId]: elementValue(input.element, typed) };
  }
  return state;
}

function clientValidate(input: InputBlock, typed: string | undefined): void {
  const empty = typed === undefined || typed === '';
  if (empty) {
    if (!input.optional)
      throw new Error(`fake-slack: the Slack client would not submit: required input "${input.blockId}" is empty`);
    return;
  }
  const { min_length: min, max_length: max } = input.element;
  if (typeof min === 'number' && typed.length < min) {
    throw new Error(
      `fake-slack: the Slack client would not submit: "${input.blockId}" needs at least ${min} characters`,
    );
  }
  if (typeof max === 'number' && typed.length > max) {
    throw new Error(
      `fake-slack: the Slack client would not submit: "${input.blockId}" allows at most ${max} characters`,
    );
  }
}

function elementValue(element: Json, typed: string | undefined): Json {
  const type = String(element.type);
  switch (type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input':
      return { type, value: typed === undefined || typed === '' ? null : typed };
    case 'static_select':
    case 'radio_buttons': {
      const options = Array.isArray(element.options) ? (element.options as Json[]) : [];
      const option = typed === undefined ? null : options.find((o) => o.value === typed);
      if (typed !== undefined && !option)
        throw new Error(`fake-slack: no option "${typed}" in ${type} ${String(element.action_id)}`);
      return { type, selected_option: option ?? null };
    }
    case 'users_select':
      return { type, selected_user: typed ?? null };
    case 'conversations_select':
      return { type, selected_conversation: typed ?? null };
    case 'datepicker':
      return { type, selected_date: typed ?? null };
    default:
      throw new Error(`fake-slack: submitting a ${type} is not supported by the fake`);
  }
}

export interface SubmitAckResult {
  ack: unknown;
  outcome: SubmitOutcome;
  problems: string[];
}

/** What Slack does with the app's answer to a view_submission (reference §2c). */
export function applySubmitAck(views: ViewStore, record: ViewRecord, response: DriverResponse): SubmitAckResult {
  const ack = response.json;
  if (response.status !== 200 || response.timedOut) {
    return {
      ack,
      outcome: 'failed',
      problems: [`HTTP ${response.status} after ${response.elapsedMs} ms: the modal shows an error and stays open`],
    };
  }
  if (response.body.trim() === '') {
    views.closeTop(record.userId);
    return { ack, outcome: 'closed', problems: [] };
  }
  if (typeof ack !== 'object' || ack === null)
    return { ack, outcome: 'invalid_ack', problems: ['ack body is not a JSON object'] };
  const body = ack as Json;
  switch (body.response_action) {
    case undefined:
      views.closeTop(record.userId);
      return { ack, outcome: 'closed', problems: [] };
    case 'errors':
      return errorsOutcome(record, body);
    case 'clear':
      views.clear(record.userId);
      return { ack, outcome: 'cleared', problems: [] };
    case 'update':
    case 'push': {
      const check = validateView(body.view, 'modal');
      if (!check.ok) return { ack, outcome: 'invalid_ack', problems: check.messages };
      if (body.response_action === 'update') {
        views.update(record, body.view as Json);
        return { ack, outcome: 'updated', problems: [] };
      }
      const pushed = views.push(record.userId, body.view as Json, 'response_action');
      return typeof pushed === 'string'
        ? { ack, outcome: 'invalid_ack', problems: [pushed] }
        : { ack, outcome: 'pushed', problems: [] };
    }
    default:
      return { ack, outcome: 'invalid_ack', problems: [`unknown response_action ${String(body.response_action)}`] };
  }
}

/** Slack only shows errors keyed by an input block_id of the view; anything else breaks the modal. */
function errorsOutcome(record: ViewRecord, body: Json): SubmitAckResult {
  const errors = body.errors;
  if (typeof errors !== 'object' || errors === null || Object.keys(errors).length === 0) {
    return { ack: body, outcome: 'invalid_ack', problems: ['response_action errors needs a non-empty errors object'] };
  }
  const inputIds = new Set(inputBlocks(record.view).map((i) => i.blockId));
  const problems = Object.keys(errors)
    .filter((key) => !inputIds.has(key))
    .map((key) => `errors key "${key}" is not an input block_id of the view`);
  return { ack: body, outcome: problems.length === 0 ? 'errors' : 'invalid_ack', problems };
}
