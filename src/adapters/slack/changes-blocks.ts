import type { ChangeSummary, ChangesView, PipelineHealth, RangeChanges } from '../../core/cards/changes-summary.ts';
import type { CardModel } from '../../core/cards/card-model.ts';
import type { GitLabUser } from '../../core/deployments/deployment.ts';
import type { Block } from './block.ts';
import { encodeButtonValue } from './button-value.ts';
import { clip, esc, link, slackDate } from './mrkdwn.ts';

/**
 * Block Kit for what a deployment changes: on the card (a freeze notice under the headline, a "What changes"
 * section with a Changes button), one line for lists, the Home tab and DMs, and the Changes modal. Pure.
 * Everything GitLab users wrote (titles, names, refs, cron fields) is escaped and clipped: a section's text
 * stays within Slack's 3,000 characters, a modal within 100 blocks.
 */

export const CHANGES_ACTION = 'deploy_changes';
export const CHANGES_VIEW = 'deploy_changes_modal';

const TITLE = 150;
const NAME = 80;
const SECTION = 3000;
const MODAL_BLOCKS = 100;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const code = (text: string, max = 100) => `\`${esc(clip(text, max)).replace(/`/g, "'")}\``;
const person = (u: GitLabUser | null) => (u ? esc(clip(u.name || u.username, NAME)) : 'someone');

function commitCount(range: { count: number; more: boolean }): string {
  return range.more ? `${range.count}+ commits` : plural(range.count, 'commit');
}

/** The headline of the summary: what changes, in a few words. */
function whatChanges(s: ChangeSummary): string {
  const r = s.range;
  if (!s.current || !r) return 'first deployment to this environment';
  switch (r.kind) {
    case 'same':
      return `nothing: ${code(s.current.shortSha)} already runs there (a redeploy)`;
    case 'unknown':
      return `GitLab cannot compare ${code(s.current.shortSha)} with the new commit`;
    case 'rollback':
      return (
        `:rewind: rollback to the older ${code(r.to.slice(0, 8))}, ` +
        `taking back ${link(r.compareUrl, commitCount(r))}`
      );
    case 'forward':
      return (
        `${link(r.compareUrl, commitCount(r))}` +
        (r.mergeRequestCount > 0 ? ` in ${plural(r.mergeRequestCount, 'merge request')}` : '')
      );
  }
}

export function pipelineText(p: PipelineHealth): string | null {
  const jobs = (n: number) => plural(n, 'job');
  const failedNames =
    p.failed.length > 0
      ? `: ${p.failed
          .slice(0, 5)
          .map((n) => esc(clip(n, 60)))
          .join(', ')}`
      : '';
  const pipeline = p.url ? link(p.url, 'Pipeline') : 'Pipeline';
  switch (p.state) {
    case 'failed':
      return `:x: ${pipeline}: ${jobs(p.failed.length)} failed${failedNames}`;
    case 'canceled':
      return `:no_entry_sign: ${pipeline}: ${jobs(p.canceled)} canceled`;
    case 'running':
      return `:hourglass_flowing_sand: ${pipeline}: still running (${jobs(p.running)})`;
    case 'passed':
      return (
        `:white_check_mark: ${pipeline}: tests passed (${jobs(p.passed + p.warnings)}` +
        `${p.warnings > 0 ? `, ${p.warnings} allowed to fail` : ''})`
      );
    case 'none':
      return null;
  }
}

/** "What changes" on the card: text, and the Changes button when there is a list to open. */
function summaryText(s: ChangeSummary): string {
  const lines = [`*What changes:* ${whatChanges(s)}`];
  if (s.current) {
    const { ref, shortSha, at, by } = s.current;
    lines.push(`Runs there now: ${code(ref)} @ ${code(shortSha)}, deployed ${slackDate(at)} by ${person(by)}`);
  }
  const r = s.range;
  if (r?.kind === 'forward') {
    for (const mr of r.mergeRequests)
      lines.push(`• ${link(mr.webUrl, `!${mr.iid}`)} ${esc(clip(mr.title, TITLE))} — ${person(mr.author)}`);
    const rest = r.mergeRequestCount - r.mergeRequests.length;
    if (rest > 0) lines.push(`and ${plural(rest, 'more merge request')}`);
  }
  const pipeline = s.pipeline ? pipelineText(s.pipeline) : null;
  if (pipeline) lines.push(pipeline);
  return clip(lines.join('\n'), SECTION);
}

/** A deploy freeze in effect, right under the card's headline. */
export function freezeBlocks(m: Pick<CardModel, 'deploymentId' | 'version' | 'changes'>): Block[] {
  const c = m.changes;
  if (!c || c.status !== 'ready' || !c.freeze) return [];
  const f = c.freeze;
  const text =
    `:snowflake: *Deploy freeze in effect until ${slackDate(f.endsAt)}.* ` +
    `The project's freeze period (${code(f.period.start, 60)} to ${code(f.period.end, 60)}, ` +
    `${esc(clip(f.period.timezone, 60))}) started ${slackDate(f.startedAt)}: ` +
    'deploying now goes against it.';
  return [
    {
      type: 'section',
      block_id: `dep-${m.deploymentId}-z-v${m.version}`,
      text: { type: 'mrkdwn', text: clip(text, SECTION) },
    },
  ];
}

/** The card's "What changes" section (nothing when the summary is off or GitLab did not answer). */
export function changesBlocks(m: Pick<CardModel, 'deploymentId' | 'projectId' | 'version' | 'changes'>): Block[] {
  const c = m.changes;
  if (!c) return [];
  const block_id = `dep-${m.deploymentId}-w-v${m.version}`;
  if (c.status === 'pending')
    return [
      {
        type: 'context',
        block_id,
        elements: [{ type: 'mrkdwn', text: '*What changes:* being read from GitLab…' }],
      },
    ];
  const value = encodeButtonValue({ d: m.deploymentId, p: m.projectId });
  const listable = c.range !== null && (c.range.kind === 'forward' || c.range.kind === 'rollback');
  return [
    {
      type: 'section',
      block_id,
      text: { type: 'mrkdwn', text: summaryText(c) },
      ...(listable && {
        accessory: {
          type: 'button',
          action_id: CHANGES_ACTION,
          text: { type: 'plain_text', text: 'Changes' },
          value,
        },
      }),
    },
  ];
}

/** The summary in one line, for the slash command's list, the Home tab and DMs; null when there is none. */
export function changesLine(view: ChangesView | null | undefined): string | null {
  if (!view || view.status !== 'ready') return null;
  const parts: string[] = [];
  if (view.freeze) parts.push(`:snowflake: deploy freeze until ${slackDate(view.freeze.endsAt)}`);
  const r = view.range;
  if (!view.current || !r) parts.push('first deployment here');
  else if (r.kind === 'forward')
    parts.push(
      `${link(r.compareUrl, commitCount(r))}` +
        (r.mergeRequestCount > 0 ? `, ${plural(r.mergeRequestCount, 'MR')}` : ''),
    );
  else if (r.kind === 'rollback') parts.push(`:rewind: rollback to ${code(r.to.slice(0, 8))}`);
  else if (r.kind === 'same') parts.push('same commit as now');
  const p = view.pipeline;
  if (p?.state === 'failed') parts.push(`${plural(p.failed.length, 'job')} failed`);
  else if (p?.state === 'canceled') parts.push(`${plural(p.canceled, 'job')} canceled`);
  else if (p?.state === 'running') parts.push('pipeline still running');
  else if (p?.state === 'passed') parts.push('tests passed');
  return clip(parts.join(' · '), 1000);
}

/** Lines into sections of at most 3,000 characters each. */
function sections(lines: string[], prefix: string): Block[] {
  const blocks: Block[] = [];
  let current = '';
  for (const line of lines.map((l) => clip(l, 1000))) {
    if (current && current.length + line.length + 1 > SECTION) {
      blocks.push({ type: 'section', block_id: `${prefix}-${blocks.length}`, text: { type: 'mrkdwn', text: current } });
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current)
    blocks.push({ type: 'section', block_id: `${prefix}-${blocks.length}`, text: { type: 'mrkdwn', text: current } });
  return blocks;
}

export type ChangesModalInput = {
  what: string;
  summary: Extract<ChangesView, { status: 'ready' }> | null;
  range: RangeChanges | null;
};

/** The Changes modal: the merge requests and up to 50 commits with their authors (or why it cannot show them). */
export function changesModal(input: ChangesModalInput): Block {
  const blocks: Block[] = [];
  const r = input.summary?.range;
  const head = r
    ? `*${esc(clip(input.what, 300))}*: ${whatChanges(input.summary!)} · ${link(r.compareUrl, 'compare in GitLab')}`
    : `*${esc(clip(input.what, 300))}*`;
  blocks.push({ type: 'section', block_id: 'changes-head', text: { type: 'mrkdwn', text: clip(head, SECTION) } });
  const range = input.range;
  if (!range || !r) {
    blocks.push({
      type: 'section',
      block_id: 'changes-none',
      text: {
        type: 'mrkdwn',
        text: r
          ? `greenlight could not read the list from GitLab right now. ${link(r.compareUrl, 'Compare in GitLab')}.`
          : 'There is nothing to list: this is the first deployment to this environment.',
      },
    });
    return modal(blocks);
  }
  if (range.mergeRequests.length > 0) {
    blocks.push(heading('changes-mr-h', `Merge requests (${range.mergeRequests.length})`));
    blocks.push(
      ...sections(
        range.mergeRequests.map(
          (mr) => `• ${link(mr.webUrl, `!${mr.iid}`)} ${esc(clip(mr.title, TITLE))} — ${person(mr.author)}`,
        ),
        'changes-mr',
      ),
    );
  }
  const shown = range.commits.length;
  const title = range.kind === 'rollback' ? 'Commits taken back' : 'Commits';
  blocks.push(heading('changes-c-h', `${title} (${range.more ? `${range.count}+` : range.count}, newest first)`));
  blocks.push(
    ...sections(
      range.commits.map((c) => {
        const mr = c.mergeRequestIid === undefined ? '' : ` (!${c.mergeRequestIid})`;
        return (
          `${link(c.webUrl, c.sha.slice(0, 8))} ${esc(clip(c.title, TITLE))} — ` +
          `${esc(clip(c.authorName || 'unknown', NAME))}${mr}`
        );
      }),
      'changes-c',
    ),
  );
  if (range.more || range.count > shown)
    blocks.push({
      type: 'context',
      block_id: 'changes-more',
      elements: [
        {
          type: 'mrkdwn',
          text: `Showing the newest ${shown}: ${link(r.compareUrl, 'compare in GitLab')} for all of them.`,
        },
      ],
    });
  return modal(blocks);
}

function heading(block_id: string, text: string): Block {
  return { type: 'header', block_id, text: { type: 'plain_text', text: clip(text, 150) } };
}

function modal(blocks: Block[]): Block {
  return {
    type: 'modal',
    callback_id: CHANGES_VIEW,
    title: { type: 'plain_text', text: 'Changes' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: blocks.slice(0, MODAL_BLOCKS),
  };
}

/** Shown at once while the list is read from GitLab (Slack's trigger_id lives 3 s). */
export function changesLoadingModal(what: string): Block {
  return modal([
    {
      type: 'section',
      block_id: 'changes-loading',
      text: { type: 'mrkdwn', text: clip(`*${esc(clip(what, 300))}*: reading the changes from GitLab…`, SECTION) },
    },
  ]);
}
