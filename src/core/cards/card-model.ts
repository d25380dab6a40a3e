import {
  approvalTotals,
  rejectionOf,
  ruleProgress,
  shortSha,
  type CardState,
  type Deployment,
  type GitLabUser,
} from '../deployments/deployment.ts';
import type { RoutePolicy } from '../policy.ts';
import type { ChangesView } from './changes-summary.ts';

/** A GitLab user as a card shows them: a Slack mention when greenlight knows their Slack account. */
export type Person = { name: string; username: string; slackUserId: string | null };

/**
 * A rule that still needs approvals, and who could still give them (members of the rule who are neither the
 * creator nor already decided). A hint for people: GitLab decides who may approve.
 */
export type OpenRule = {
  name: string;
  /** approvals this rule still needs */
  missing: number;
  /** people looked up (mentioned when they have a Slack account) */
  people: Person[];
  /** further people who could approve, not looked up (cards mention a handful, not a whole group) */
  more: number;
  /** false when greenlight could not read the rule's members */
  known: boolean;
};

export type CardOutcome = {
  state: CardState;
  by: Person | null;
  comment: string | null;
  at: string | null;
  supersededBy?: { id: number; url: string };
};

/** What a card says, independent of Block Kit. src/adapters/slack/card-blocks.ts renders it. */
export type CardModel = {
  deploymentId: number;
  projectId: number;
  /** Incremented on every rendered change; Slack block_ids carry it so clients redraw. */
  version: number;
  state: CardState;
  project: { path: string; url: string };
  environment: { name: string; tier: string | null; url: string };
  ref: string;
  shortSha: string;
  commit: { title: string | null; url: string | null };
  triggeredBy: Person | null;
  pipeline: { id: number; url: string | null } | null;
  job: { id: number; name: string; url: string | null } | null;
  totals: { approved: number; required: number };
  rules: Array<{
    name: string;
    approved: number;
    required: number;
    approvals: Array<{ person: Person; status: 'approved' | 'rejected'; comment: string | null }>;
  }>;
  /** While waiting: the rules that still need approvals, in GitLab's order, with who can still give them. */
  openRules: OpenRule[];
  /** ISO time since when it waits (deployment created_at). */
  waitingSince: string;
  outcome: CardOutcome | null;
  buttons: { approve: boolean; reject: boolean; run: boolean };
  openUrl: string;
  /** When the next reminder or escalation is due (epoch ms), if any. */
  nextNudgeAt: number | null;
  /** What is due at nextNudgeAt (absent: a reminder). */
  nextNudgeKind?: 'reminder' | 'escalation';
  /** What the deployment changes (src/core/cards/changes-summary.ts); null when off or not known. */
  changes: ChangesView | null;
};

export type PeopleDirectory = (user: GitLabUser) => Promise<Person>;

export async function buildCardModel(
  deployment: Deployment,
  opts: {
    state: CardState;
    version: number;
    route: RoutePolicy;
    people: PeopleDirectory;
    nextNudgeAt?: number | null;
    nextNudgeKind?: 'reminder' | 'escalation';
    supersededBy?: { id: number; url: string };
    openRules?: OpenRule[];
    changes?: ChangesView | null;
  },
): Promise<CardModel> {
  const { state } = opts;
  const progress = ruleProgress(deployment);
  const rules = await Promise.all(
    progress.map(async (p) => ({
      name: p.rule.name,
      approved: p.approved,
      required: p.required,
      approvals: await Promise.all(
        p.rule.approvals.map(async (a) => ({
          person: await opts.people(a.user),
          status: a.status,
          comment: a.comment,
        })),
      ),
    })),
  );
  return {
    deploymentId: deployment.id,
    projectId: deployment.project.id,
    version: opts.version,
    state,
    project: { path: deployment.project.path, url: deployment.project.webUrl },
    environment: {
      name: deployment.environment.name,
      tier: deployment.environment.tier,
      url: deployment.environment.webUrl,
    },
    ref: deployment.ref,
    shortSha: shortSha(deployment),
    commit: { title: deployment.commit.title, url: deployment.commit.webUrl },
    triggeredBy: deployment.creator ? await opts.people(deployment.creator) : null,
    pipeline: deployment.pipeline ? { id: deployment.pipeline.id, url: deployment.pipeline.webUrl } : null,
    job: deployment.job ? { id: deployment.job.id, name: deployment.job.name, url: deployment.job.webUrl } : null,
    totals: approvalTotals(deployment),
    rules,
    openRules: state === 'waiting' ? (opts.openRules ?? []) : [],
    waitingSince: deployment.createdAt,
    outcome: state === 'waiting' ? null : await outcomeOf(deployment, state, opts.people, opts.supersededBy),
    buttons: {
      approve: state === 'waiting',
      reject: state === 'waiting',
      run: state === 'approved' && opts.route.runAfterApproval === 'button' && deployment.job !== null,
    },
    openUrl: deployment.job?.webUrl ?? deployment.environment.webUrl,
    nextNudgeAt: state === 'waiting' ? (opts.nextNudgeAt ?? null) : null,
    ...(state === 'waiting' &&
      opts.nextNudgeAt &&
      opts.nextNudgeKind === 'escalation' && { nextNudgeKind: opts.nextNudgeKind }),
    changes: opts.changes ?? null,
  };
}

async function outcomeOf(
  d: Deployment,
  state: CardState,
  people: PeopleDirectory,
  supersededBy?: { id: number; url: string },
): Promise<CardOutcome> {
  if (state === 'rejected') {
    const rejection = rejectionOf(d);
    return {
      state,
      by: rejection ? await people(rejection.user) : null,
      comment: rejection?.comment ?? null,
      at: rejection?.createdAt ?? null,
    };
  }
  if (state === 'approved') {
    const last = [...d.approvals]
      .filter((a) => a.status === 'approved')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .at(-1);
    return { state, by: last ? await people(last.user) : null, comment: null, at: last?.createdAt ?? null };
  }
  if (state === 'superseded')
    return { state, by: null, comment: null, at: null, ...(supersededBy && { supersededBy }) };
  const runner = d.job?.user ?? null;
  const showRunner = state === 'running' || state === 'succeeded' || state === 'failed';
  return { state, by: showRunner && runner ? await people(runner) : null, comment: null, at: d.updatedAt };
}

/** A stable digest of what the card shows, without its version: equal digests need no chat.update. */
export function cardFingerprint(model: CardModel): string {
  const { version: _version, ...content } = model;
  return JSON.stringify(content);
}
