import type { Block } from './card-blocks.ts';
import { COMMENT_INPUT, MAX_COMMENT, RULE_INPUT, VIEW } from './ids.ts';
import { clip, esc } from './mrkdwn.ts';

/** Rules offered in the modal: radio buttons take at most 10 options. */
export const MAX_MODAL_RULES = 10;

/** d/p: the deployment; c/ts: where the card is (for the notice); r: the rules offered, by exact name. */
export type ApproveModalMetadata = { d: number; p: number; c: string | null; ts: string | null; r: string[] };

/**
 * The modal Approve opens when the clicker can approve for several rules that still need approvals:
 * GitLab counts an approval for one rule, named by represented_as. Null when it cannot be shown
 * (too many rules, or names too long for private_metadata): the decision worker asks instead.
 */
export function approveModal(meta: ApproveModalMetadata, summary: string): Block | null {
  const privateMetadata = JSON.stringify(meta);
  if (meta.r.length < 2 || meta.r.length > MAX_MODAL_RULES || privateMetadata.length > 3000) return null;
  return {
    type: 'modal',
    callback_id: VIEW.approveModal,
    private_metadata: privateMetadata,
    title: { type: 'plain_text', text: 'Approve deployment' },
    submit: { type: 'plain_text', text: 'Approve' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: clip(
            `Approving *${esc(summary)}*. You are in more than one approval rule that still needs ` +
              'approvals; your approval counts for the one you pick. It is recorded in GitLab as you.',
            3000,
          ),
        },
      },
      {
        type: 'input',
        block_id: RULE_INPUT.block,
        label: { type: 'plain_text', text: 'Approve for' },
        element: {
          type: 'radio_buttons',
          action_id: RULE_INPUT.action,
          options: meta.r.map((name, i) => ({ text: { type: 'plain_text', text: clip(name, 75) }, value: String(i) })),
        },
      },
      {
        type: 'input',
        block_id: COMMENT_INPUT.block,
        optional: true,
        label: { type: 'plain_text', text: 'Comment' },
        hint: {
          type: 'plain_text',
          text: `Recorded in GitLab with your approval (at most ${MAX_COMMENT} characters).`,
        },
        element: {
          type: 'plain_text_input',
          action_id: COMMENT_INPUT.action,
          multiline: true,
          max_length: MAX_COMMENT,
        },
      },
    ],
  };
}
