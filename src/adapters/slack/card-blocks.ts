import type { CardModel, OpenRule, Person } from '../../core/cards/card-model.ts';
import type { CardState } from '../../core/deployments/deployment.ts';
import { changesBlocks, freezeBlocks } from './changes-blocks.ts';
import { decisionButtons } from './decision-buttons.ts';
import { clip, esc, link, slackDate } from './mrkdwn.ts';
import type { Block, SlackMessage } from './block.ts';

export type { Block, SlackMessage } from './block.ts';

/** Block Kit for an approval card. Pure: the same model always renders the same blocks. */

export function personText(p: Person | null): string {
  if (!p) return 'someone';
  return p.slackUserId ? `<@${p.slackUserId}>` : `${esc(p.name)} (@${esc(p.username)})`;
}

function personPlain(p: Person | null): string {
  return p ? p.name || p.username : 'someone';
}

const HEADLINE: Record<CardState, string> = {
  waiting: ':rocket: Approval needed',
  approved: ':white_check_mark: Approved, waiting to run',
  running: ':arrows_counterclockwise: Deploying',
  succeeded: ':tada: Deployed',
  failed: ':boom: Deployment failed',
  rejected: ':x: Rejected',
  canceled: ':no_entry_sign: Canceled',
  superseded: ':fast_forward: Superseded',
};

/** The message's `text` (notifications, screen readers, old clients): Slack reads it as mrkdwn too, so escaped. */
export function fallbackText(m: CardModel): string {
  const what = esc(`${m.project.path} → ${m.environment.name}`);
  const o = m.outcome;
  switch (m.state) {
    case 'waiting':
      return `Deployment approval needed: ${what} (${m.totals.approved} of ${m.totals.required} approvals)`;
    case 'rejected':
      return (
        `Rejected: ${what} by ${esc(personPlain(o?.by ?? null))}` +
        `${o?.comment ? ` — "${esc(clip(o.comment, 500))}"` : ''}`
      );
    case 'approved':
      return `Approved: ${what}; waiting for someone to run it`;
    default:
      return `${HEADLINE[m.state].replace(/^:[a-z_]+: /, '')}: ${what}`;
  }
}

function outcomeLine(m: CardModel): string | null {
  const o = m.outcome;
  if (!o) return null;
  const when = o.at ? ` · ${slackDate(o.at)}` : '';
  switch (o.state) {
    case 'approved':
      return (
        `:white_check_mark: Fully approved${o.by ? `, last by ${personText(o.by)}` : ''}${when}. ` +
        'The job waits for someone with deploy rights to run it.'
      );
    case 'rejected':
      return `:x: Rejected by ${personText(o.by)}${o.comment ? ` — “${esc(clip(o.comment, 500))}”` : ''}${when}`;
    case 'running':
      return `:arrows_counterclockwise: Running${o.by ? `, started by ${personText(o.by)}` : ''}${when}`;
    case 'succeeded':
      return `:tada: Deployed successfully${o.by ? ` (run by ${personText(o.by)})` : ''}${when}`;
    case 'failed':
      return `:boom: The deployment job failed${when}`;
    case 'canceled':
      return `:no_entry_sign: Canceled${when}`;
    case 'superseded':
      return (
        ':fast_forward: Superseded by a newer deployment to this ' +
        `environment${o.supersededBy ? `: ${link(o.supersededBy.url, `#${o.supersededBy.id}`)}` : ''}`
      );
    case 'waiting':
      return null;
  }
}

/** Mentions per rule; the rest are counted ("and 4 more") so a big group never floods the card. */
export const MAX_MENTIONS_PER_RULE = 5;

/** Who can still approve for one open rule: linked people as mentions, the others counted. */
function canApproveText(o: OpenRule): string | null {
  if (!o.known) return null;
  const total = o.people.length + o.more;
  if (total === 0) return 'nobody left in this rule who can approve';
  const linked = o.people.filter((p) => p.slackUserId);
  if (linked.length === 0)
    return `${total} ${total === 1 ? 'person' : 'people'} in GitLab can approve, none linked to Slack`;
  const shown = linked.slice(0, MAX_MENTIONS_PER_RULE);
  const rest = total - shown.length;
  return `can approve: ${shown.map(personText).join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}

/** Slack refuses a message of more than 50 blocks, and a section text over 3,000 characters. */
export const MAX_BLOCKS = 50;
const SECTION_TEXT_MAX = 3000;

type RuleLine = { open: boolean; text: string };

/**
 * One line per approval rule, each its own section block: the rule's mark, name, count and who can still approve
 * come first and are never cut; the approvals and their comments fill what is left of the block's 3,000 characters.
 */
function ruleLines(m: CardModel): RuleLine[] {
  // openRules lists the unsatisfied rules in the same order; pair them up while rendering.
  const open = m.rules.filter((r) => r.approved < r.required).length === m.openRules.length ? [...m.openRules] : [];
  return m.rules.map((r) => {
    const satisfied = r.approved >= r.required;
    const mark = satisfied ? ':white_check_mark:' : ':hourglass_flowing_sand:';
    const still = satisfied ? null : open.shift();
    const tail = still ? canApproveText(still) : null;
    const head = `${mark} *${esc(clip(r.name, 200))}*: ${r.approved} of ${r.required}`;
    const who = r.approvals
      .map(
        (a) =>
          `${a.status === 'rejected' ? ':x: ' : ''}${personText(a.person)}` +
          `${a.comment ? ` “${esc(clip(a.comment, 200))}”` : ''}`,
      )
      .join(', ');
    const fixed = `${head} — ${tail ? ` · ${tail}` : ''}`.length;
    const approvals = who ? clip(who, Math.max(0, SECTION_TEXT_MAX - fixed)) : '';
    const parts = [approvals, tail].filter((x): x is string => Boolean(x));
    return {
      open: !satisfied,
      text: clip(`${head}${parts.length ? ` — ${parts.join(' · ')}` : ''}`, SECTION_TEXT_MAX),
    };
  });
}

/**
 * The rule blocks that fit in `room` blocks: every open rule first (who can still approve must never disappear),
 * then satisfied ones in order; what does not fit is counted in one last line.
 */
function ruleBlocks(m: CardModel, id: string, v: string, room: number): Block[] {
  const lines = ruleLines(m);
  if (lines.length === 0) return [];
  const section = (text: string, i: number): Block => ({
    type: 'section',
    block_id: `${id}-r${i}-${v}`,
    text: { type: 'mrkdwn', text },
  });
  if (lines.length <= room) return lines.map((l, i) => section(l.text, i));
  const shown = new Set<number>();
  for (const [i, l] of lines.entries()) if (l.open && shown.size < room - 1) shown.add(i);
  for (const [i] of lines.entries()) if (shown.size < room - 1) shown.add(i);
  const hidden = lines.filter((_, i) => !shown.has(i));
  const hiddenOpen = hidden.filter((l) => l.open).length;
  const more =
    `…and ${hidden.length} more approval rule${hidden.length === 1 ? '' : 's'}` +
    `${hiddenOpen > 0 ? ` (${hiddenOpen} still waiting)` : ', all satisfied'}: see GitLab.`;
  return [
    ...lines.flatMap((l, i) => (shown.has(i) ? [section(l.text, i)] : [])),
    { type: 'context', block_id: `${id}-rmore-${v}`, elements: [{ type: 'mrkdwn', text: more }] },
  ];
}

export function renderCard(m: CardModel): SlackMessage {
  const id = `dep-${m.deploymentId}`;
  const v = `v${m.version}`;
  const tier = m.environment.tier && m.environment.tier !== m.environment.name ? ` (${esc(m.environment.tier)})` : '';
  const commit = m.commit.title ? `\n${link(m.commit.url, clip(m.commit.title, 200))}` : '';
  const pipeline = [
    m.pipeline ? link(m.pipeline.url, `#${m.pipeline.id}`) : null,
    m.job ? link(m.job.url, m.job.name) : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const blocks: Block[] = [
    {
      type: 'header',
      block_id: `${id}-h-${v}`,
      text: {
        type: 'plain_text',
        text: clip(`${HEADLINE[m.state]}: ${m.project.path} → ${m.environment.name}`, 150),
        emoji: true,
      },
    },
    {
      type: 'section',
      block_id: `${id}-f-${v}`,
      fields: [
        `*Project*\n${link(m.project.url, clip(m.project.path, 300))}`,
        `*Environment*\n${link(m.environment.url, clip(m.environment.name, 300))}${tier}`,
        `*Ref*\n\`${esc(clip(m.ref, 300))}\` @ ${link(m.commit.url, m.shortSha)}${commit}`,
        `*Pipeline*\n${pipeline || '—'}`,
        `*Triggered by*\n${personText(m.triggeredBy)}`,
        `*Approvals*\n${m.totals.approved} of ${m.totals.required} required`,
      ].map((text) => ({ type: 'mrkdwn', text: clip(text, 2000) })),
    },
  ];
  // A freeze in effect goes right under the headline; what changes follows the facts (changes-blocks.ts).
  blocks.splice(1, 0, ...freezeBlocks(m));
  blocks.push(...changesBlocks(m));
  const rulesAt = blocks.length;
  const nudge = m.nextNudgeAt
    ? ` · next ${m.nextNudgeKind ?? 'reminder'} ${slackDate(m.nextNudgeAt, '{date_short_pretty} {time}')}`
    : '';
  blocks.push({
    type: 'context',
    block_id: `${id}-c-${v}`,
    elements: [
      { type: 'mrkdwn', text: `Deployment #${m.deploymentId} · waiting since ${slackDate(m.waitingSince)}${nudge}` },
    ],
  });
  const outcome = outcomeLine(m);
  if (outcome)
    blocks.push({
      type: 'context',
      block_id: `${id}-o-${v}`,
      elements: [{ type: 'mrkdwn', text: clip(outcome, 3000) }],
    });
  blocks.push({ type: 'actions', block_id: `${id}-a-${v}`, elements: buttons(m) });
  blocks.splice(rulesAt, 0, ...ruleBlocks(m, id, v, MAX_BLOCKS - blocks.length));
  return { text: clip(fallbackText(m), 3000), blocks };
}

function buttons(m: CardModel): Block[] {
  return decisionButtons(
    {
      deploymentId: m.deploymentId,
      projectId: m.projectId,
      version: m.version,
      project: m.project.path,
      ref: m.ref,
      shortSha: m.shortSha,
      environment: m.environment.name,
      openUrl: m.openUrl,
    },
    m.buttons,
  );
}
