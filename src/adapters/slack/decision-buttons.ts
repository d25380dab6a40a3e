import type { Block } from './block.ts';
import { encodeButtonValue } from './button-value.ts';
import { ACTION } from './ids.ts';
import { clip } from './mrkdwn.ts';

/**
 * The buttons that decide on a deployment, shared by the card and by every list that shows them (the slash
 * command, the Home tab, DMs): same action_ids, values and confirmations, so one set of listeners serves all.
 */
export type DecisionTarget = {
  deploymentId: number;
  projectId: number;
  version: number;
  project: string;
  ref: string;
  shortSha: string;
  environment: string;
  openUrl: string;
};

const plain = (text: string) => ({ type: 'plain_text', text });

export function decisionButtons(t: DecisionTarget, show: { approve: boolean; reject: boolean; run: boolean }): Block[] {
  const value = encodeButtonValue({ d: t.deploymentId, p: t.projectId, v: t.version });
  const what = clip(`${t.project} ${t.ref}@${t.shortSha} → ${t.environment}`, 200);
  const out: Block[] = [];
  if (show.approve) {
    out.push({
      type: 'button',
      action_id: ACTION.approve,
      style: 'primary',
      text: plain('Approve'),
      value,
      confirm: {
        title: plain('Approve deployment?'),
        text: plain(clip(`${what}. Your approval is recorded in GitLab as you.`, 300)),
        confirm: plain('Approve'),
        deny: plain('Cancel'),
        style: 'primary',
      },
    });
  }
  if (show.reject)
    out.push({ type: 'button', action_id: ACTION.reject, style: 'danger', text: plain('Reject'), value });
  if (show.run) {
    out.push({
      type: 'button',
      action_id: ACTION.run,
      style: 'primary',
      text: plain('Run deployment'),
      value,
      confirm: {
        title: plain('Run the deployment now?'),
        text: plain(clip(`${what} starts now, as you.`, 300)),
        confirm: plain('Run'),
        deny: plain('Cancel'),
      },
    });
  }
  out.push({ type: 'button', action_id: ACTION.openGitLab, text: plain('Open in GitLab'), url: t.openUrl });
  return out;
}
