import { normalizeBlocks, validateBlocks } from '../block-kit.ts';
import type { Block, Json, MessageMetadata } from '../types.ts';
import { fail } from './context.ts';

/** chat.postMessage accepts up to 40 000 characters of text; reference §4 gives chat.update 4 000. */
export const POST_TEXT_LIMIT = 40_000;
export const UPDATE_TEXT_LIMIT = 4_000;

export interface MessageContent {
  text: string | undefined;
  /** undefined = the caller sent no blocks argument at all. */
  blocks: Block[] | undefined;
  hasAttachments: boolean;
}

/**
 * Reads text/blocks/attachments of a message-like request, failing like Slack: invalid_blocks_format (not a JSON
 * array), invalid_blocks (Block Kit violations, with response_metadata.messages), msg_too_long.
 */
export function readContent(
  fields: { text?: unknown; blocks?: unknown; attachments?: unknown },
  textLimit: number,
): MessageContent {
  const text = fields.text === undefined || fields.text === null ? undefined : String(fields.text);
  if (text !== undefined && text.length > textLimit) fail('msg_too_long');
  let blocks: Block[] | undefined;
  if (fields.blocks !== undefined && fields.blocks !== null && fields.blocks !== '') {
    if (!Array.isArray(fields.blocks)) fail('invalid_blocks_format');
    const problems = validateBlocks(fields.blocks, 'message');
    if (problems.length > 0) fail('invalid_blocks', { response_metadata: { messages: problems } });
    blocks = normalizeBlocks(fields.blocks as Block[]);
  }
  const hasAttachments = Array.isArray(fields.attachments) && fields.attachments.length > 0;
  return { text, blocks, hasAttachments };
}

/** no_text: a message needs text, blocks or attachments. */
export function requireSomeContent(text: string, blocks: Block[], hasAttachments: boolean): void {
  if (text.trim() === '' && blocks.length === 0 && !hasAttachments) fail('no_text');
}

export function readMetadata(value: unknown): MessageMetadata | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail('invalid_metadata_format');
  const metadata = value as Json;
  if (typeof metadata.event_type !== 'string' || metadata.event_type === '') fail('invalid_metadata_schema');
  if (
    typeof metadata.event_payload !== 'object' ||
    metadata.event_payload === null ||
    Array.isArray(metadata.event_payload)
  ) {
    fail('invalid_metadata_schema');
  }
  return { event_type: metadata.event_type, event_payload: metadata.event_payload as Json };
}
