import type { Notice } from '../../core/approvals/notices.ts';
import type { Block, SlackMessage } from './card-blocks.ts';
import { ACTION } from './ids.ts';
import { clip, esc } from './mrkdwn.ts';

/** One button per rule on the "which rule?" notice; a value carries the rule's exact name (max 2,000 chars). */
const MAX_RULE_BUTTONS = 10;

export type ApproveAsValue = { d: number; p: number; r: string };

const ICON: Record<Notice['tone'], string> = {
  success: ':white_check_mark:',
  info: ':information_source:',
  warning: ':warning:',
  error: ':x:',
};

/** An ephemeral message to one person; with `link`, a button that starts the GitLab account link. */
/** Slack refuses a section text over 3,000 characters: a long GitLab error is clipped, the sentence kept. */
const SECTION_TEXT_MAX = 3000;
const QUOTE_MAX = 1500;

export function renderNotice(notice: Notice, linkUrl?: string | null): SlackMessage {
  const quote = notice.quote === undefined ? '' : ` “${esc(clip(notice.quote, QUOTE_MAX))}”`;
  const text = clip(`${ICON[notice.tone]} ${notice.text}${quote}`, SECTION_TEXT_MAX);
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (notice.link && linkUrl) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ACTION.link,
          style: 'primary',
          text: { type: 'plain_text', text: 'Link GitLab account' },
          url: linkUrl,
        },
      ],
    });
  }
  if (notice.approveAs) {
    const { ref, rules } = notice.approveAs;
    const elements = rules
      .map((r) => ({ r, value: JSON.stringify({ d: ref.deploymentId, p: ref.projectId, r } satisfies ApproveAsValue) }))
      .filter(({ value }) => value.length <= 2000)
      .slice(0, MAX_RULE_BUTTONS)
      .map(({ r, value }, i) => ({
        type: 'button',
        action_id: `${ACTION.approveAs}_${i}`,
        text: { type: 'plain_text', text: clip(`Approve for ${r}`, 75) },
        value,
      }));
    if (elements.length > 0) blocks.push({ type: 'actions', elements });
  }
  return { text, blocks };
}
