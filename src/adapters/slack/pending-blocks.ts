import type { PendingAnswer, PendingPage } from '../../core/pending/list-pending.ts';
import { queryText, type PendingQuery } from '../../core/pending/pending-query.ts';
import type { PendingRow } from '../../core/pending/pending-row.ts';
import type { DmModel } from '../../core/personal/ports.ts';
import type { Block, SlackMessage } from './card-blocks.ts';
import { changesLine } from './changes-blocks.ts';
import { decisionButtons as sharedButtons } from './decision-buttons.ts';
import { ACTION } from './ids.ts';
import { clip, esc, link, slackDate } from './mrkdwn.ts';

/**
 * Block Kit for waiting deployments outside their card: rows of the slash command's list, of the Home tab
 * and of DMs. Pure. Their Approve and Reject buttons are the card's: same action_ids, same values, same
 * confirmation, so the card's listeners handle them.
 */

/** Rows per page of the list: two blocks each, plus header, footer and "Show more" within Slack's 50. */
export const LIST_PAGE_SIZE = 20;

/** The value of the "Show more" button: the query and where the next page starts. */
export type ListMoreValue = { q: string; o: number };

export function formatWaited(ms: number): string {
  const minutes = Math.floor(Math.max(ms, 0) / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** The card's Approve and Reject buttons for a row (and Open in GitLab). */
export function decisionButtons(row: PendingRow, opts: { decide: boolean }): Block[] {
  return sharedButtons(
    {
      deploymentId: row.deploymentId,
      projectId: row.projectId,
      version: row.cardVersion,
      project: row.project.path,
      ref: row.ref,
      shortSha: row.shortSha,
      environment: row.environment.name,
      openUrl: row.openUrl,
    },
    { approve: opts.decide, reject: opts.decide, run: false },
  );
}

/**
 * One deployment: a section and its buttons. `now` shows how long it has waited (lists, Home); without
 * it, when it was requested (DMs, which are not re-rendered as time passes).
 */
export function rowBlocks(row: PendingRow, opts: { idPrefix: string; now: number | null; decide: boolean }): Block[] {
  const id = `${opts.idPrefix}-${row.deploymentId}`;
  const tier =
    row.environment.tier && row.environment.tier !== row.environment.name ? ` (${esc(row.environment.tier)})` : '';
  const waited =
    opts.now === null
      ? `Requested ${slackDate(row.waitingSince)}`
      : `Waiting ${formatWaited(opts.now - Date.parse(row.waitingSince))}`;
  const by = row.creator ? ` · by ${esc(row.creator.name)} (@${esc(row.creator.username)})` : '';
  const text = [
    `*${link(row.project.url, clip(row.project.path, 300))}* → ` +
      `*${link(row.environment.url, clip(row.environment.name, 300))}*${tier}`,
    `${waited} · ${row.progress.approved} of ${row.progress.required} approvals · ` +
      `\`${esc(clip(row.ref, 200))}\` @ ${row.shortSha}${by} · #${row.deploymentId}`,
    changesLine(row.changes),
  ]
    .filter((line): line is string => line !== null)
    .join('\n');
  return [
    { type: 'section', block_id: `${id}-s`, text: { type: 'mrkdwn', text: clip(text, 3000) } },
    {
      type: 'actions',
      block_id: `${id}-a-v${row.cardVersion}`,
      elements: decisionButtons(row, { decide: opts.decide }),
    },
  ];
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export type ListContext = {
  query: PendingQuery;
  now: number;
  command: string;
  linkMode: 'oauth' | 'sudo';
  /** the command's help, shown when a filter matches nothing */
  help: string;
};

/** The answer to the slash command (and to "Show more"), ephemeral. */
export function renderPendingList(answer: PendingAnswer, ctx: ListContext): SlackMessage {
  if (answer.kind === 'unlinked') {
    const text =
      ctx.linkMode === 'oauth'
        ? ':link: To see what waits for *you*, link your GitLab account first: ' +
          `\`${ctx.command} link\`. \`${ctx.command}\` alone lists everything that waits.`
        : ':grey_question: greenlight does not know your GitLab account, so it cannot tell what waits for ' +
          'you. It finds you by your Slack e-mail address (it must match your GitLab e-mail), or a greenlight ' +
          'admin adds you to `users:` in the policy file (slack: your member ID, gitlab: your username).';
    return textOnly(text);
  }
  if (answer.kind === 'broken')
    return textOnly(
      `:warning: Your GitLab link stopped working (${esc(answer.reason)}). Link again with \`${ctx.command} link\`.`,
    );
  if (answer.total === 0) return renderEmpty(answer, ctx);

  const first = answer.offset + 1;
  const last = answer.offset + answer.rows.length;
  const matching = ctx.query.terms.length ? ` matching \`${esc(ctx.query.terms.join(' '))}\`` : '';
  const subject = ctx.query.mine
    ? `${plural(answer.total, 'deployment waits', 'deployments wait')} for *your* ` +
      `approval${answer.person ? ` (as @${esc(answer.person.username)})` : ''}`
    : `${plural(answer.total, 'deployment waits', 'deployments wait')} for approval`;
  const range = answer.total > answer.rows.length ? `, showing ${first}–${last}, newest first` : ', newest first';
  const headline = `*${subject}*${matching}${range}.`;
  const blocks: Block[] = [
    { type: 'section', block_id: 'list-head', text: { type: 'mrkdwn', text: clip(headline, 3000) } },
  ];
  for (const row of answer.rows) blocks.push(...rowBlocks(row, { idPrefix: 'list', now: ctx.now, decide: true }));
  const notes = footnotes(answer);
  if (notes) blocks.push({ type: 'context', block_id: 'list-notes', elements: [{ type: 'mrkdwn', text: notes }] });
  if (last < answer.total) {
    const value: ListMoreValue = { q: queryText(ctx.query), o: last };
    blocks.push({
      type: 'actions',
      block_id: `list-more-${last}`,
      elements: [
        {
          type: 'button',
          action_id: ACTION.listMore,
          text: { type: 'plain_text', text: `Show more (${answer.total - last} left)` },
          value: JSON.stringify(value),
        },
      ],
    });
  }
  return { text: `${subject.replace(/\*/g, '')}${matching.replace(/`/g, '"')}`, blocks };
}

function renderEmpty(answer: PendingPage, ctx: ListContext): SlackMessage {
  const terms = ctx.query.terms;
  const notes = footnotes(answer);
  if (terms.length > 0) {
    const others =
      answer.waiting > 0
        ? ` (${plural(answer.waiting, 'deployment waits', 'deployments wait')} in all: \`${ctx.command}\` lists them)`
        : '';
    const text =
      `Nothing waiting${ctx.query.mine ? ' for you' : ''} matches ` +
      `\`${esc(terms.join(' '))}\`${others}. Words filter by project path, environment or tier.`;
    return {
      text,
      blocks: [
        { type: 'section', block_id: 'list-none', text: { type: 'mrkdwn', text: clip(`:mag: ${text}`, 3000) } },
        ...(notes ? [{ type: 'context', block_id: 'list-notes', elements: [{ type: 'mrkdwn', text: notes }] }] : []),
        { type: 'section', block_id: 'list-help', text: { type: 'mrkdwn', text: clip(ctx.help, 3000) } },
      ],
    };
  }
  const asYou = answer.person ? ` (as @${esc(answer.person.username)})` : '';
  const othersWait =
    answer.waiting > 0
      ? ` ${plural(answer.waiting, 'other deployment waits', 'other deployments wait')}: \`${ctx.command}\` lists them.`
      : '';
  const text = ctx.query.mine
    ? `:white_check_mark: Nothing waits for your approval${asYou}.${othersWait}`
    : ':white_check_mark: Nothing waits for approval right now.';
  return notes
    ? {
        text,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: notes }] },
        ],
      }
    : textOnly(text);
}

function footnotes(answer: PendingPage): string | null {
  const notes: string[] = [];
  if (answer.unchecked > 0)
    notes.push(
      ':warning: GitLab did not say who may approve ' +
        `${plural(answer.unchecked, 'deployment', 'deployments')}; ` +
        `${answer.unchecked === 1 ? 'it is' : 'they are'} left out. Try again in a minute.`,
    );
  if (answer.truncated)
    notes.push('Only the newest open deployments were read; narrow the list with a project or environment.');
  return notes.length ? notes.join('\n') : null;
}

function textOnly(text: string): SlackMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } }] };
}

/** A DM about one deployment; updated in place as the deployment changes. */
export function renderDm(dm: DmModel): SlackMessage {
  const what = `${dm.row.project.path} → ${dm.row.environment.name}`;
  const icon = dm.canAct
    ? ':raising_hand:'
    : dm.state === 'waiting'
      ? ':hourglass_flowing_sand:'
      : dm.state === 'rejected' || dm.state === 'failed'
        ? ':x:'
        : ':white_check_mark:';
  const blocks: Block[] = [
    {
      type: 'section',
      block_id: `dm-${dm.row.deploymentId}-h`,
      text: { type: 'mrkdwn', text: clip(`${icon} *${esc(what)}*: ${esc(dm.headline)}`, 3000) },
    },
    ...rowBlocks(dm.row, { idPrefix: 'dm', now: null, decide: dm.canAct }),
  ];
  return { text: clip(`${what}: ${dm.headline}`, 3000), blocks };
}
