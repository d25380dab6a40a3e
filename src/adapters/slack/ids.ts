/** Slack action_ids and callback_ids: shared by the block builders and the listeners that handle them. */
export const ACTION = {
  approve: 'deploy_approve',
  reject: 'deploy_reject',
  run: 'deploy_run',
  /**
   * "Approve for <rule>" on the notice that asks which rule (represented_as); suffixed _0, _1, ... (unique per block)
   */
  approveAs: 'deploy_approve_as',
  openGitLab: 'deploy_open_gitlab',
  link: 'gitlab_link',
  /** the slash command's list: next page */
  listMore: 'pending_list_more',
  /** Home tab: DMs on or off */
  homeDmToggle: 'home_dm_toggle',
  snooze: 'nudge_snooze',
} as const;

export const VIEW = {
  rejectModal: 'deploy_reject_modal',
  approveModal: 'deploy_approve_modal',
  home: 'greenlight_home',
} as const;

/** The reject modal's input: block_id and action_id. */
export const REASON_INPUT = { block: 'reason', action: 'reason_input' } as const;

/** The approve modal's inputs: which rule (represented_as), and an optional comment. */
export const RULE_INPUT = { block: 'rule', action: 'rule_choice' } as const;
export const COMMENT_INPUT = { block: 'comment', action: 'comment_input' } as const;

/** Matches the suffixed "Approve for <rule>" action_ids. */
export const APPROVE_AS_PATTERN = new RegExp(`^${ACTION.approveAs}_\\d+$`);

export const CARD_METADATA_EVENT = 'greenlight_card';
/** Reminders and escalations carry {deployment_id, seq}: an unconfirmed post is looked up, never repeated. */
export const NUDGE_METADATA_EVENT = 'greenlight_nudge';

/** GitLab's limit on approval comments. */
export const MAX_COMMENT = 255;
