import type { Block } from './card-blocks.ts';
import { MAX_COMMENT, REASON_INPUT, VIEW } from './ids.ts';
import { clip, esc } from './mrkdwn.ts';

export type RejectModalMetadata = { d: number; p: number; c: string | null; ts: string | null };

/** The modal Reject opens: a required reason, capped at GitLab's 255 characters. */
export function rejectModal(meta: RejectModalMetadata, summary: string): Block {
  return {
    type: 'modal',
    callback_id: VIEW.rejectModal,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: 'Reject deployment' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: clip(
            `Rejecting *${esc(summary)}*. GitLab fails the job; a new pipeline is needed to deploy again.`,
            3000,
          ),
        },
      },
      {
        type: 'input',
        block_id: REASON_INPUT.block,
        label: { type: 'plain_text', text: 'Reason' },
        hint: {
          type: 'plain_text',
          text: `Recorded in GitLab with your rejection (at most ${MAX_COMMENT} characters).`,
        },
        element: {
          type: 'plain_text_input',
          action_id: REASON_INPUT.action,
          multiline: true,
          min_length: 3,
          max_length: MAX_COMMENT,
          placeholder: { type: 'plain_text', text: 'Smoke tests fail on staging' },
        },
      },
    ],
  };
}
