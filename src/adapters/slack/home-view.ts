import type { HomeModel } from '../../core/personal/ports.ts';
import type { Block } from './card-blocks.ts';
import { ACTION, VIEW } from './ids.ts';
import { clip, esc, slackDate } from './mrkdwn.ts';
import { rowBlocks } from './pending-blocks.ts';

const VIA: Record<'policy' | 'email' | 'oauth', string> = {
  policy: 'the policy file',
  email: 'your Slack e-mail address',
  oauth: 'your linked account',
};

const section = (block_id: string, text: string, accessory?: Block): Block => ({
  type: 'section',
  block_id,
  text: { type: 'mrkdwn', text: clip(text, 3000) },
  ...(accessory && { accessory }),
});
const context = (block_id: string, text: string): Block => ({
  type: 'context',
  block_id,
  elements: [{ type: 'mrkdwn', text: clip(text, 3000) }],
});
const header = (block_id: string, text: string): Block => ({
  type: 'header',
  block_id,
  text: { type: 'plain_text', text: clip(text, 150), emoji: true },
});

/** A person's Home tab (views.publish, type home; at most 100 blocks). Pure. */
export function renderHome(m: HomeModel): { type: 'home'; callback_id: string; blocks: Block[] } {
  const blocks: Block[] = [
    header('home-title', ':rocket: Deployments waiting for approval'),
    linkBlock(m),
    dmBlock(m),
    { type: 'divider', block_id: 'home-d1' },
  ];

  blocks.push(header('you-title', m.forYou ? `Waiting for you (${m.forYou.total})` : 'Waiting for you'));
  if (!m.forYou) {
    blocks.push(
      section('you-none', 'greenlight needs to know your GitLab account to tell what waits for you (see above).'),
    );
  } else if (m.forYou.total === 0) {
    blocks.push(section('you-none', ':white_check_mark: Nothing waits for your approval.'));
  } else {
    for (const row of m.forYou.rows) blocks.push(...rowBlocks(row, { idPrefix: 'you', now: m.now, decide: true }));
    if (m.forYou.total > m.forYou.rows.length)
      blocks.push(
        context(
          'you-more',
          `…and ${m.forYou.total - m.forYou.rows.length} more: \`${m.command} mine\` lists them all.`,
        ),
      );
  }
  if (m.forYou && m.forYou.unchecked > 0)
    blocks.push(
      context(
        'you-unchecked',
        `:warning: GitLab did not say who may approve ${m.forYou.unchecked} ` +
          'of the waiting deployments; they are left out for now.',
      ),
    );

  blocks.push({ type: 'divider', block_id: 'home-d2' }, header('all-title', `All pending (${m.all.total})`));
  if (m.all.total === 0) blocks.push(section('all-none', ':white_check_mark: Nothing waits for approval right now.'));
  for (const row of m.all.rows) blocks.push(...rowBlocks(row, { idPrefix: 'all', now: m.now, decide: true }));
  if (m.all.total > m.all.rows.length)
    blocks.push(
      context(
        'all-more',
        `…and ${m.all.total - m.all.rows.length} more: \`${m.command}\` ` +
          `lists them all, \`${m.command} <project or environment>\` filters.`,
      ),
    );
  blocks.push(
    context('home-updated', `Updated ${slackDate(m.now)} · newest first · \`${m.command} help\` for the slash command`),
  );
  return { type: 'home', callback_id: VIEW.home, blocks };
}

function linkBlock(m: HomeModel): Block {
  const button = m.linkUrl
    ? {
        type: 'button',
        action_id: ACTION.link,
        style: 'primary',
        text: { type: 'plain_text', text: 'Link GitLab account' },
        url: m.linkUrl,
      }
    : undefined;
  switch (m.link.kind) {
    case 'linked':
      return section(
        'home-link',
        ':white_check_mark: greenlight acts for you as GitLab user ' +
          `*@${esc(m.link.username)}* (${esc(m.link.name)}), found by ${VIA[m.link.via]}.`,
      );
    case 'broken':
      return section(
        'home-link',
        `:warning: Your GitLab link stopped working (${esc(m.link.reason)}). ` +
          `Link again${button ? '' : ` with \`${m.command} link\``}.`,
        button,
      );
    case 'unlinked':
      return m.linkMode === 'oauth'
        ? section(
            'home-link',
            ':link: Your GitLab account is not linked yet, so greenlight ' +
              `cannot act for you. Link it${button ? '' : ` with \`${m.command} link\``}: ` +
              'your approvals are then recorded in GitLab as you.',
            button,
          )
        : section(
            'home-link',
            ':grey_question: greenlight does not know your GitLab account yet. It finds you by ' +
              'your Slack e-mail address (it must match your GitLab e-mail), or a greenlight admin adds ' +
              'you to `users:` in the policy file (slack: your member ID, gitlab: your username).',
          );
  }
}

function dmBlock(m: HomeModel): Block {
  const text = m.dmEnabled
    ? '*Direct messages: on.* greenlight sends you a DM when a deployment ' +
      'starts waiting for your approval, and keeps it up to date.'
    : '*Direct messages: off.* Turn them on to get a DM when a deployment starts waiting for your approval.';
  return section('home-dm', text, {
    type: 'button',
    action_id: ACTION.homeDmToggle,
    text: { type: 'plain_text', text: m.dmEnabled ? 'Turn off' : 'Turn on' },
    value: m.dmEnabled ? 'off' : 'on',
    ...(!m.dmEnabled && { style: 'primary' }),
  });
}
