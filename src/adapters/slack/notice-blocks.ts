import type { Notice } from '../../core/approvals/notices.ts';
import type { Block, SlackMessage } from './card-blocks.ts';
import { ACTION } from './ids.ts';

const ICON: Record<Notice['tone'], string> = { success: ':white_check_mark:', info: ':information_source:', warning: ':warning:', error: ':x:' };

/** An ephemeral message to one person; with `link`, a button that starts the GitLab account link. */
export function renderNotice(notice: Notice, linkUrl?: string | null): SlackMessage {
  const text = `${ICON[notice.tone]} ${notice.text}`;
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (notice.link && linkUrl) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', action_id: ACTION.link, style: 'primary', text: { type: 'plain_text', text: 'Link GitLab account' }, url: linkUrl }] });
  }
  return { text, blocks };
}
