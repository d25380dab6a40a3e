import { describeWait } from '../../core/reminders/describe-wait.ts';
import type { Ask, EscalationMessage, ReminderMessage, SnoozeNote } from '../../core/reminders/ports.ts';
import type { Block, SlackMessage } from './card-blocks.ts';
import { ACTION } from './ids.ts';
import { clip, esc, link, slackDate } from './mrkdwn.ts';

/** The Snooze button's value: deployment, project, and the reminder's seq (one snooze per click and reminder). */
export type SnoozeValue = { d: number; p: number; s: number };

function askLine(a: Ask): string {
  const need = `${a.missing} more approval${a.missing === 1 ? '' : 's'}`;
  if (a.mentions.length === 0) return `*${esc(a.rule)}* needs ${need}`;
  const others = a.unlinked > 0 ? ` (and ${a.unlinked} other${a.unlinked === 1 ? '' : 's'})` : '';
  return `${a.mentions.map((u) => `<@${u}>`).join(' ')}${others} can approve — *${esc(a.rule)}* needs ${need}`;
}

function asksText(asks: Ask[]): string {
  return asks.length > 0 ? asks.map(askLine).join('\n') : 'It still needs approval.';
}

/** Mentions go in `text` too: notifications are built from it. */
function mentionsOf(asks: Ask[]): string {
  return asks.flatMap((a) => a.mentions.map((u) => `<@${u}>`)).join(' ');
}

/** A thread reply on the card: who can still approve, how long it has waited, and a Snooze button. */
export function renderReminder(m: ReminderMessage): SlackMessage {
  const waited = describeWait(m.waitedMs);
  const headline = `:bell: *Still waiting for approval* after ${waited} (reminder ${m.number} of ${m.max})`;
  const value = JSON.stringify({ d: m.id.deploymentId, p: m.projectId, s: m.id.seq } satisfies SnoozeValue);
  const blocks: Block[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clip(`${headline}\n${asksText(m.asks)}`, 3000) } },
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ACTION.snooze,
          text: { type: 'plain_text', text: `Snooze ${describeWait(m.snoozeMs)}` },
          value,
        },
      ],
    },
  ];
  const mentions = mentionsOf(m.asks);
  return {
    text: clip(`Reminder: ${m.what} has waited ${waited} for approval.${mentions ? ` ${mentions}` : ''}`, 3000),
    blocks,
  };
}

/** A post in the level's channel: mentions its targets and links to the card. */
export function renderEscalation(m: EscalationMessage): SlackMessage {
  const waited = describeWait(m.waitedMs);
  const targets = m.mention.join(' ');
  const subject = m.cardUrl ? link(m.cardUrl, m.what) : `*${esc(m.what)}*`;
  const level = m.levels > 1 ? ` (level ${m.level} of ${m.levels})` : '';
  const body =
    `:rotating_light: *Escalation${level}*: ${subject} has waited *${waited}* ` +
    `for approval.${targets ? ` ${targets}` : ''}\n${asksText(m.asks)}`;
  const links = [m.cardUrl ? link(m.cardUrl, 'Open the card') : null, link(m.openUrl, 'Open in GitLab')]
    .filter(Boolean)
    .join(' · ');
  return {
    text: clip(`Escalation: ${m.what} has waited ${waited} for approval.${targets ? ` ${targets}` : ''}`, 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(body, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: links }] },
    ],
  };
}

/** Who snoozed, until when, and what comes next. */
export function renderSnoozeNote(n: SnoozeNote): SlackMessage {
  const next = n.next ? ` Next ${n.next.kind} ${slackDate(n.next.at)}.` : ' No more reminders are planned.';
  const text = `:zzz: <@${n.by}> snoozed reminders until ${slackDate(n.until, '{time}')}.${next}`;
  return { text, blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text }] }] };
}
