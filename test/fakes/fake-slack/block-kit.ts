import { randomBlockId } from './clock.ts';
import type { Block, Json } from './types.ts';

/**
 * Block Kit validation (the limits of reference §5 that an approval bot can hit) and the normalisation Slack
 * applies to stored blocks. Problems come back in Slack's own format:
 * "[ERROR] must be less than 76 characters [json-pointer:/blocks/3/elements/0/text/text]".
 */

export type Surface = 'message' | 'modal' | 'home';

const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };
const BLOCK_TYPES = new Set([
  'section',
  'header',
  'context',
  'actions',
  'divider',
  'input',
  'image',
  'rich_text',
  'markdown',
  'video',
  'file',
]);
const INPUT_ELEMENTS = new Set([
  'plain_text_input',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'multi_external_select',
  'checkboxes',
  'radio_buttons',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'email_text_input',
  'url_text_input',
  'number_input',
  'rich_text_input',
  'file_input',
]);
const ACTION_ELEMENTS = new Set([...INPUT_ELEMENTS, 'button', 'overflow', 'workflow_button']);

type Problems = string[];

function err(problems: Problems, message: string, pointer: string): void {
  problems.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a blocks array for a surface; returns Slack-style problem strings (empty = valid). */
export function validateBlocks(blocks: unknown, surface: Surface, pointer = '/blocks'): Problems {
  const problems: Problems = [];
  if (!Array.isArray(blocks)) {
    err(problems, 'must be an array', pointer);
    return problems;
  }
  if (blocks.length > MAX_BLOCKS[surface]) err(problems, `no more than ${MAX_BLOCKS[surface]} items allowed`, pointer);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `${pointer}/${i}`;
    if (!isObject(block) || typeof block.type !== 'string') {
      err(problems, 'missing required field: type', at);
      return;
    }
    if (!BLOCK_TYPES.has(block.type)) {
      err(problems, `unsupported type: ${block.type}`, `${at}/type`);
      return;
    }
    if (block.block_id !== undefined) {
      if (checkId(problems, block.block_id, `${at}/block_id`) && blockIds.has(block.block_id as string)) {
        err(problems, `duplicate block_id: ${String(block.block_id)}`, `${at}/block_id`);
      }
      blockIds.add(String(block.block_id));
    }
    validateBlock(problems, block, at);
  });
  return problems;
}

function validateBlock(problems: Problems, block: Json, at: string): void {
  switch (block.type) {
    case 'header':
      textObject(problems, block.text, `${at}/text`, { max: 150, plainOnly: true });
      break;
    case 'section':
      validateSection(problems, block, at);
      break;
    case 'context':
      validateContext(problems, block, at);
      break;
    case 'actions':
      validateElements(problems, block.elements, `${at}/elements`, 25, ACTION_ELEMENTS);
      break;
    case 'input':
      textObject(problems, block.label, `${at}/label`, { max: 2000, plainOnly: true });
      if (block.hint !== undefined) textObject(problems, block.hint, `${at}/hint`, { max: 2000, plainOnly: true });
      if (!isObject(block.element)) err(problems, 'missing required field: element', `${at}/element`);
      else validateElement(problems, block.element, `${at}/element`, INPUT_ELEMENTS);
      break;
    case 'image':
      if (typeof block.alt_text !== 'string' || block.alt_text.length === 0) {
        err(problems, 'missing required field: alt_text', `${at}/alt_text`);
      }
      if (block.image_url === undefined && block.slack_file === undefined) {
        err(problems, 'missing required field: image_url', `${at}/image_url`);
      }
      break;
    case 'markdown':
      if (typeof block.text !== 'string' || block.text.length === 0)
        err(problems, 'missing required field: text', `${at}/text`);
      else if (block.text.length > 12_000) err(problems, 'must be less than 12001 characters', `${at}/text`);
      break;
    default:
      break; // divider, rich_text, video, file: accepted as given
  }
}

function validateSection(problems: Problems, block: Json, at: string): void {
  if (block.text === undefined && block.fields === undefined) {
    err(problems, 'must provide either text or fields', at);
  }
  if (block.text !== undefined) textObject(problems, block.text, `${at}/text`, { max: 3000 });
  if (block.fields !== undefined) {
    if (!Array.isArray(block.fields) || block.fields.length === 0)
      err(problems, 'must be a non-empty array', `${at}/fields`);
    else {
      if (block.fields.length > 10) err(problems, 'no more than 10 items allowed', `${at}/fields`);
      block.fields.forEach((field, i) => textObject(problems, field, `${at}/fields/${i}`, { max: 2000 }));
    }
  }
  if (block.accessory !== undefined) {
    if (!isObject(block.accessory)) err(problems, 'must be an object', `${at}/accessory`);
    else if (block.accessory.type !== 'image')
      validateElement(problems, block.accessory, `${at}/accessory`, ACTION_ELEMENTS);
  }
}

function validateContext(problems: Problems, block: Json, at: string): void {
  const elements = block.elements;
  if (!Array.isArray(elements) || elements.length === 0) {
    err(problems, 'must be a non-empty array', `${at}/elements`);
    return;
  }
  if (elements.length > 10) err(problems, 'no more than 10 items allowed', `${at}/elements`);
  elements.forEach((element, i) => {
    if (isObject(element) && element.type === 'image') return;
    textObject(problems, element, `${at}/elements/${i}`, { max: 3000 });
  });
}

function validateElements(problems: Problems, elements: unknown, at: string, max: number, allowed: Set<string>): void {
  if (!Array.isArray(elements) || elements.length === 0) {
    err(problems, 'must be a non-empty array', at);
    return;
  }
  if (elements.length > max) err(problems, `no more than ${max} items allowed`, at);
  const actionIds = new Set<string>();
  elements.forEach((element, i) => {
    if (!isObject(element)) {
      err(problems, 'must be an object', `${at}/${i}`);
      return;
    }
    validateElement(problems, element, `${at}/${i}`, allowed);
    if (typeof element.action_id === 'string') {
      if (actionIds.has(element.action_id))
        err(problems, `duplicate action_id: ${element.action_id}`, `${at}/${i}/action_id`);
      actionIds.add(element.action_id);
    }
  });
}

function validateElement(problems: Problems, element: Json, at: string, allowed: Set<string>): void {
  if (typeof element.type !== 'string' || !allowed.has(element.type)) {
    err(problems, `unsupported type: ${String(element.type)}`, `${at}/type`);
    return;
  }
  if (element.action_id !== undefined) checkId(problems, element.action_id, `${at}/action_id`);
  if (element.confirm !== undefined) validateConfirm(problems, element.confirm, `${at}/confirm`);
  if (element.type === 'button') validateButton(problems, element, at);
  if (element.type === 'plain_text_input') validatePlainTextInput(problems, element, at);
  if (element.placeholder !== undefined && element.type !== 'plain_text_input') {
    textObject(problems, element.placeholder, `${at}/placeholder`, { max: 150, plainOnly: true });
  }
  if (Array.isArray(element.options) && element.options.length > (element.type === 'overflow' ? 5 : 100)) {
    err(problems, `no more than ${element.type === 'overflow' ? 5 : 100} items allowed`, `${at}/options`);
  }
}

function validateButton(problems: Problems, button: Json, at: string): void {
  textObject(problems, button.text, `${at}/text`, { max: 75, plainOnly: true });
  maxString(problems, button.value, 2000, `${at}/value`);
  maxString(problems, button.url, 3000, `${at}/url`);
  if (button.style !== undefined && button.style !== 'primary' && button.style !== 'danger') {
    err(problems, 'must be one of: primary, danger', `${at}/style`);
  }
}

function validatePlainTextInput(problems: Problems, input: Json, at: string): void {
  if (input.placeholder !== undefined)
    textObject(problems, input.placeholder, `${at}/placeholder`, { max: 150, plainOnly: true });
  const min = input.min_length;
  const max = input.max_length;
  if (min !== undefined && (typeof min !== 'number' || min < 0 || min > 3000))
    err(problems, 'must be between 0 and 3000', `${at}/min_length`);
  if (max !== undefined && (typeof max !== 'number' || max < 1 || max > 3000))
    err(problems, 'must be between 1 and 3000', `${at}/max_length`);
  if (typeof min === 'number' && typeof max === 'number' && min > max)
    err(problems, 'min_length must not exceed max_length', at);
  maxString(problems, input.initial_value, 3000, `${at}/initial_value`);
}

function validateConfirm(problems: Problems, confirm: unknown, at: string): void {
  if (!isObject(confirm)) {
    err(problems, 'must be an object', at);
    return;
  }
  textObject(problems, confirm.title, `${at}/title`, { max: 100, plainOnly: true });
  textObject(problems, confirm.text, `${at}/text`, { max: 300 });
  textObject(problems, confirm.confirm, `${at}/confirm`, { max: 30, plainOnly: true });
  textObject(problems, confirm.deny, `${at}/deny`, { max: 30, plainOnly: true });
  if (confirm.style !== undefined && confirm.style !== 'primary' && confirm.style !== 'danger') {
    err(problems, 'must be one of: primary, danger', `${at}/style`);
  }
}

/** A composition text object: {type: plain_text|mrkdwn, text: 1..max chars}. */
export function textObject(
  problems: Problems,
  value: unknown,
  at: string,
  opts: { max: number; plainOnly?: boolean },
): void {
  if (!isObject(value)) {
    err(problems, 'missing required field: text object', at);
    return;
  }
  const okType = opts.plainOnly ? value.type === 'plain_text' : value.type === 'plain_text' || value.type === 'mrkdwn';
  if (!okType) err(problems, `must be ${opts.plainOnly ? 'plain_text' : 'plain_text or mrkdwn'}`, `${at}/type`);
  if (typeof value.text !== 'string' || value.text.length === 0) {
    err(problems, 'must be more than 0 characters', `${at}/text`);
  } else if (value.text.length > opts.max) {
    err(problems, `must be less than ${opts.max + 1} characters`, `${at}/text`);
  }
}

function maxString(problems: Problems, value: unknown, max: number, at: string): void {
  if (value === undefined) return;
  if (typeof value !== 'string') err(problems, 'must be a string', at);
  else if (value.length > max) err(problems, `must be less than ${max + 1} characters`, at);
}

function checkId(problems: Problems, value: unknown, at: string): boolean {
  if (typeof value !== 'string' || value.length === 0) {
    err(problems, 'must be a non-empty string', at);
    return false;
  }
  if (value.length > 255) {
    err(problems, 'must be less than 256 characters', at);
    return false;
  }
  return true;
}

/**
 * What Slack stores and sends back: a deep copy with block_id on every block, action_id on every interactive
 * element, `emoji: true` on plain_text and `verbatim: false` on mrkdwn text objects. Compare stored blocks with
 * what the app built using toMatchObject, not toEqual.
 */
export function normalizeBlocks(blocks: readonly Block[]): Block[] {
  return blocks.map((block) => {
    const copy = normalizeNode(structuredClone(block)) as Block;
    if (copy.block_id === undefined) copy.block_id = randomBlockId();
    for (const element of interactiveElements(copy)) {
      if (element.action_id === undefined) element.action_id = randomBlockId();
    }
    return copy;
  });
}

function normalizeNode(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalizeNode);
  if (!isObject(node)) return node;
  for (const [key, value] of Object.entries(node)) node[key] = normalizeNode(value);
  if (node.type === 'plain_text' && typeof node.text === 'string' && node.emoji === undefined) node.emoji = true;
  if (node.type === 'mrkdwn' && typeof node.text === 'string' && node.verbatim === undefined) node.verbatim = false;
  return node;
}

/** Interactive elements of a block: actions elements, a section accessory, an input's element. */
export function interactiveElements(block: Block): Json[] {
  const found: Json[] = [];
  if (block.type === 'actions' && Array.isArray(block.elements)) {
    for (const element of block.elements)
      if (isObject(element) && ACTION_ELEMENTS.has(String(element.type))) found.push(element);
  }
  if (block.type === 'section' && isObject(block.accessory) && ACTION_ELEMENTS.has(String(block.accessory.type))) {
    found.push(block.accessory);
  }
  if (block.type === 'input' && isObject(block.element)) found.push(block.element);
  return found;
}

// ---- views -------------------------------------------------------------------------------------------------

export type ViewValidation =
  { ok: true } | { ok: false; error: 'invalid_arguments' | 'view_too_large'; messages: string[] };

const VIEW_MAX_BYTES = 250_000;

/** Validates a modal or home view as views.open/update/push/publish (or response_action update/push) would. */
export function validateView(view: unknown, expected: 'modal' | 'home'): ViewValidation {
  const problems: Problems = [];
  if (!isObject(view))
    return { ok: false, error: 'invalid_arguments', messages: ['[ERROR] missing required field: view'] };
  if (Buffer.byteLength(JSON.stringify(view)) > VIEW_MAX_BYTES) {
    return {
      ok: false,
      error: 'view_too_large',
      messages: ['[ERROR] view is larger than 250 kB [json-pointer:/view]'],
    };
  }
  if (view.type !== expected) err(problems, `must be ${expected}`, '/view/type');
  if (expected === 'modal') {
    textObject(problems, view.title, '/view/title', { max: 24, plainOnly: true });
    if (view.submit !== undefined) textObject(problems, view.submit, '/view/submit', { max: 24, plainOnly: true });
    if (view.close !== undefined) textObject(problems, view.close, '/view/close', { max: 24, plainOnly: true });
    const hasInputs = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInputs && view.submit === undefined)
      err(problems, 'submit is required when a view has input blocks', '/view/submit');
  }
  problems.push(...validateBlocks(view.blocks, expected, '/view/blocks'));
  maxString(problems, view.callback_id, 255, '/view/callback_id');
  maxString(problems, view.external_id, 255, '/view/external_id');
  maxString(problems, view.private_metadata, 3000, '/view/private_metadata');
  return problems.length === 0 ? { ok: true } : { ok: false, error: 'invalid_arguments', messages: problems };
}
