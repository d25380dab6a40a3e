/**
 * The policy that decides where cards go and how waiting deployments are chased.
 * Built from the policy file (CONFIG_FILE) and environment by src/config; plain data here so the core
 * depends on no parser.
 */
export type Weekday = 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat' | 'Sun';

export type WorkingHours = {
  days: readonly Weekday[];
  /** minutes after midnight, local to `timezone` */
  fromMinute: number;
  toMinute: number;
  timezone: string;
};

export type ReminderPolicy = { afterMs: number; everyMs: number; max: number };

export type EscalationLevel = { afterMs: number; channel: string; mention: readonly string[] };

export type RunAfterApproval = 'off' | 'button';

/** `off`: cards show nothing of what the deployment changes, and greenlight reads nothing from GitLab for it. */
export type ChangesSwitch = 'on' | 'off';

/** What a matched route (or the top level) says about one deployment. */
export type RoutePolicy = {
  channel: string | null;
  reminders: ReminderPolicy | null;
  escalation: readonly EscalationLevel[];
  workingHours: WorkingHours | null;
  runAfterApproval: RunAfterApproval;
  /** What the deployment changes, on cards, lists, the Home tab and DMs (absent: on). */
  changes?: ChangesSwitch;
};

export type RouteMatch = { project?: string; environment?: string; tier?: string };

export type Route = { match: RouteMatch; overrides: Partial<RoutePolicy> };

export type UserMapping = { slack: string; gitlab: string };

export type Policy = {
  defaults: RoutePolicy;
  routes: readonly Route[];
  projects: readonly (string | number)[];
  groups: readonly (string | number)[];
  sweepEveryMs: number;
  /** how often the policy's groups and projects are listed again */
  sweepListEveryMs: number;
  /** how often each project's protected environments are read again */
  sweepClassifyEveryMs: number;
  fourEyes: { forbidCommitAuthor: boolean };
  users: readonly UserMapping[];
};
