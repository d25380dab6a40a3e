import type { CardState, DeploymentRef } from '../deployments/deployment.ts';
import { isGreenlightError } from '../errors.ts';

/**
 * A short message to one person (ephemeral in Slack). `link` offers the account-link button;
 * `approveAs` offers one "approve for this rule" button per rule (represented_as).
 */
export type Notice = {
  tone: 'success' | 'info' | 'warning' | 'error';
  text: string;
  /** Text from outside (GitLab's own error message), quoted after `text`: escaped and clipped when rendered. */
  quote?: string;
  link?: boolean;
  approveAs?: { ref: DeploymentRef; rules: string[] };
};

export type RefusalReason =
  | 'not_visible'
  | 'unlinked'
  | 'link_broken'
  | 'self_approval'
  | 'commit_author'
  | 'already_decided'
  | 'not_waiting'
  | 'superseded'
  | 'not_approved_yet'
  | 'no_permission'
  | 'not_found'
  | 'not_protected'
  | 'not_configured'
  | 'represented_as_invalid'
  | 'comment_too_long'
  | 'forbidden'
  | 'run_forbidden'
  | 'unplayable'
  | 'gitlab_refused';

const STATE_WORDS: Record<CardState, string> = {
  waiting: 'is waiting for approvals',
  approved: 'is already fully approved and waits to be run',
  running: 'is already running',
  succeeded: 'has already been deployed',
  failed: 'has failed',
  rejected: 'has been rejected',
  canceled: 'was canceled',
  superseded: 'was superseded by a newer deployment',
};

export function describeState(state: CardState): string {
  return STATE_WORDS[state];
}

/** "was already approved by X", "was already rejected by Y": what happened, and who did it when known. */
function resolvedBy(state: CardState, by: string | null): string {
  if (by && state === 'approved') return `was already approved (last by ${by}) and waits to be run`;
  if (by && state === 'rejected') return `was already rejected by ${by}`;
  return describeState(state);
}

/** The person can approve for several rules that still need approvals: GitLab needs to be told which. */
export function chooseRuleNotice(ref: DeploymentRef, rules: string[], what: string): Notice {
  return {
    tone: 'info',
    text:
      `You can approve ${what} for more than one approval rule that still ` +
      'needs approvals. Which one do you approve for? Nothing was recorded yet.',
    approveAs: { ref, rules },
  };
}

const ASK_ADMIN =
  'Ask a greenlight admin to add you to `users:` in the policy file (slack: your member ID, gitlab: your username).';
/** Sudo mode: why greenlight does not know the person's GitLab account (one sentence each). */
const SUDO_UNLINKED: Record<string, string> = {
  none: 'greenlight does not know your GitLab account: your Slack e-mail matches no GitLab user.',
  guest:
    'greenlight matches Slack and GitLab accounts by e-mail only for full members of this workspace, ' +
    'and yours is a guest account.',
  external:
    'greenlight matches Slack and GitLab accounts by e-mail only for members of the workspace it is ' +
    'installed in, and your account belongs to another organisation.',
  unconfirmed_email:
    'greenlight matches Slack and GitLab accounts by e-mail only when Slack has confirmed the e-mail address, ' +
    'and yours is not confirmed.',
};

/** The sentence a person reads when greenlight refuses or GitLab refuses for them. */
export function refusalNotice(
  reason: RefusalReason,
  ctx: { state?: CardState; by?: string | null; linkMode: 'oauth' | 'sudo'; command: string; detail?: string },
): Notice {
  switch (reason) {
    case 'not_visible':
      return {
        tone: 'warning',
        text:
          'You cannot act on this deployment: its card is in a channel you are not in, and your GitLab account ' +
          'cannot read its project. Nothing was done.',
      };
    case 'unlinked':
      return ctx.linkMode === 'oauth'
        ? {
            tone: 'warning',
            text:
              'Your Slack account is not linked to GitLab yet, so greenlight cannot ' +
              `act for you. Link it with \`${ctx.command} link\`, then click again.`,
            link: true,
          }
        : { tone: 'warning', text: `${SUDO_UNLINKED[ctx.detail ?? ''] ?? SUDO_UNLINKED.none} ${ASK_ADMIN}` };
    case 'link_broken':
      return {
        tone: 'warning',
        text:
          'Your GitLab link stopped working. ' +
          `Link again with \`${ctx.command} link\`, then click again. Nothing was recorded. GitLab said:`,
        quote: ctx.detail ?? 'the token was revoked or expired',
        link: ctx.linkMode === 'oauth',
      };
    case 'self_approval':
      return { tone: 'warning', text: 'You triggered this deployment, so you cannot approve it. Someone else has to.' };
    case 'commit_author':
      return {
        tone: 'warning',
        text: 'You wrote the commit being deployed, so you cannot approve it (four-eyes rule). Someone else has to.',
      };
    case 'already_decided':
      return { tone: 'info', text: `You have already ${ctx.detail ?? 'decided on'} this deployment; nothing changed.` };
    case 'not_waiting':
      return {
        tone: 'info',
        text:
          'Nothing to do: this deployment ' +
          `${resolvedBy(ctx.state ?? 'approved', ctx.by ?? null)}. The card is up to date now.`,
      };
    case 'superseded':
      return {
        tone: 'info',
        text: 'Nothing to do: a newer deployment to this environment superseded this one. Decide on the newer card.',
      };
    case 'not_approved_yet':
      return {
        tone: 'info',
        text: 'This deployment still waits for approvals; it can run once every rule is satisfied.',
      };
    case 'no_permission':
      return {
        tone: 'warning',
        text:
          'GitLab says you are not allowed to approve this deployment: you ' +
          "are not in any of its approval rules. Ask the project's maintainers.",
      };
    case 'not_found':
      return { tone: 'warning', text: 'GitLab no longer has this deployment (or you cannot see it).' };
    case 'not_protected':
      return {
        tone: 'warning',
        text: 'GitLab says this environment is not protected, so there is nothing to approve.',
      };
    case 'not_configured':
      return { tone: 'warning', text: 'GitLab says approvals are not configured for this environment.' };
    case 'represented_as_invalid':
      return {
        tone: 'warning',
        text: 'GitLab did not accept the approval rule you chose. Pick one of the rules you belong to.',
      };
    case 'comment_too_long':
      return { tone: 'warning', text: 'GitLab accepts at most 255 characters as a reason. Shorten it and try again.' };
    case 'forbidden':
      return { tone: 'warning', text: 'GitLab refused: you cannot see deployments of this project.' };
    case 'run_forbidden':
      return {
        tone: 'warning',
        text: 'GitLab refused to run the job: you are not allowed to deploy to this environment.',
      };
    case 'unplayable':
      return {
        tone: 'warning',
        text: 'GitLab cannot run this job now (it may still wait for approvals, or it already ran).',
      };
    case 'gitlab_refused':
      return { tone: 'warning', text: 'GitLab refused:', quote: ctx.detail ?? 'no reason given' };
  }
}

/** When something failed for good: one short, honest sentence; never a stack trace. */
export function failureNotice(error: unknown, action: string): Notice {
  if (isGreenlightError(error)) {
    if (error.code === 'gitlab_unavailable' || error.code === 'gitlab_rate_limited') {
      return {
        tone: 'error',
        text: `GitLab did not answer in time, so your ${action} was not recorded. Please try again in a minute.`,
      };
    }
    if (error.code === 'gitlab_unauthorized') {
      return {
        tone: 'error',
        text:
          'GitLab did not accept the credentials greenlight used, so your ' +
          `${action} was not recorded. Ask a greenlight admin to check GITLAB_TOKEN.`,
      };
    }
  }
  return {
    tone: 'error',
    text: `Something went wrong and your ${action} was not recorded. Please try again, or decide in GitLab.`,
  };
}

/** What the person reads once GitLab has recorded their decision. */
export function recordedNotice(action: 'approve' | 'reject' | 'run', ctx: { what: string; username: string }): Notice {
  switch (action) {
    case 'approve':
      return {
        tone: 'success',
        text: `You approved ${ctx.what} in GitLab as @${ctx.username}. The card shows what is still missing.`,
      };
    case 'reject':
      return {
        tone: 'success',
        text:
          `You rejected ${ctx.what} in GitLab as @${ctx.username}. ` +
          'GitLab fails the job; deploying again needs a new pipeline.',
      };
    case 'run':
      return { tone: 'success', text: `You started ${ctx.what} in GitLab as @${ctx.username}.` };
  }
}
