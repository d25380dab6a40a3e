import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { Notice } from '../../core/approvals/notices.ts';
import { IntakeEvent } from '../../core/intake/intake-event.ts';

/**
 * Every queue greenlight uses, declared once: its name, the schema of its jobs (checked when a worker takes one),
 * the defaults of its jobs (attempts and backoff: the retry policy that run-job.ts applies) and how its workers
 * run. factory.ts makes queues and workers from these and nothing else.
 */
export type QueueDeclaration<S extends z.ZodType = z.ZodType> = {
  name: string;
  schema: S;
  jobs: JobsOptions;
  worker: {
    /** jobs at once per worker process */
    concurrency: number;
    /** give up once a job is older than this (run-job.ts) */
    maxAgeMs?: number;
    /**
     * The lane of the GitLab request budget its jobs take (request-budget.ts; normal when unset): `interactive`
     * (clicks) go first, `background` (the sweep) yields to everything else; `origin`: background when the sweep
     * asked for the job (its reason, or a priority), normal otherwise.
     */
    gitlabLane?: 'interactive' | 'background' | 'origin';
  };
};

const KEEP = {
  removeOnComplete: { age: 3_600, count: 2_000 },
  removeOnFail: { age: 7 * 86_400, count: 5_000 },
} as const;

const exponential = (attempts: number, delay: number) => ({ attempts, backoff: { type: 'exponential', delay } });

const Ref = z.object({ projectId: z.number().int(), deploymentId: z.number().int() });
const SlackUser = z.object({ teamId: z.string(), userId: z.string() });

/** How long a delivery's key is remembered: GitLab's "Resend request" repeats its Idempotency-Key. */
export const DELIVERY_MEMORY_MS = 86_400_000;

/** A GitLab delivery as the webhook route normalised it (core/intake/intake-event.ts), and its delivery key. */
export const WebhookJob = z.object({ event: IntakeEvent, deliveryKey: z.string() });
export type WebhookJob = z.infer<typeof WebhookJob>;

export const ScanJob = z.object({
  projectId: z.union([z.number(), z.string()]),
  environments: z.array(z.string()),
  reason: z.string(),
  /** read the project's protected environments first (the sweep's slow cycle), and scan only if it can block */
  classify: z.boolean().optional(),
  /** ... unless it was classified this recently (a duplicate request) */
  unlessClassifiedWithinMs: z.number().optional(),
  /** leave deployments with open cards alone (the sweep reads those itself) */
  skipOpenCards: z.boolean().optional(),
});
export type ScanJob = z.infer<typeof ScanJob>;

export const SyncJob = Ref.extend({ reason: z.string() });
export type SyncJob = z.infer<typeof SyncJob>;

export const DecisionJob = z.object({
  ref: Ref,
  slackUser: SlackUser,
  action: z.enum(['approve', 'reject', 'run']),
  comment: z.string().optional(),
  representedAs: z.string().optional(),
  /** where the person clicked, for their notice */
  channel: z.string().nullable(),
  requestedAt: z.number(),
});
export type DecisionJob = z.infer<typeof DecisionJob>;

export const NoticeJob = z.object({
  channel: z.string(),
  user: z.string(),
  notice: z.custom<Notice>((value) => typeof value === 'object' && value !== null && 'text' in value),
  /** Slack team of `user`: the Link button is bound to it */
  team: z.string().optional(),
});
export type NoticeJob = z.infer<typeof NoticeJob>;

/** Reminder timers ('fire', one per deployment and seq) and Snooze clicks ('snooze'): see nudge-timer.ts. */
export const NudgeJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fire'), ref: Ref, seq: z.number().int() }),
  z.object({
    kind: z.literal('snooze'),
    ref: Ref,
    slackUserId: z.string(),
    teamId: z.string().optional(),
    channel: z.string().nullable(),
    reminderSeq: z.number().int(),
    requestedAt: z.number(),
  }),
]);
export type NudgeJob = z.infer<typeof NudgeJob>;

export const PersonalJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('changed'), projectId: z.number().int(), deploymentId: z.number().int() }),
  z.object({ kind: z.literal('home'), teamId: z.string(), userId: z.string() }),
]);
export type PersonalJob = z.infer<typeof PersonalJob>;

/**
 * `fullListing`: list every group again now (at start, after a Redis outage); `classifyAll`: Redis lost greenlight's
 * data, classify every project now (sweep-deployments.ts)
 */
export const SweepJob = z.object({
  reason: z.string(),
  fullListing: z.boolean().optional(),
  classifyAll: z.boolean().optional(),
});
export type SweepJob = z.infer<typeof SweepJob>;

export const QUEUES = {
  /**
   * GitLab's webhook deliveries, from the web role to the workers. The job id is new per request and the
   * delivery key (Idempotency-Key, else the body's digest) deduplicates for DELIVERY_MEMORY_MS: a resent delivery
   * adds nothing. A delivery that failed for good is logged in full; the next sweep still finds its deployment.
   */
  intake: {
    name: 'intake',
    schema: WebhookJob,
    jobs: { ...exponential(8, 1_000), removeOnComplete: { age: 600, count: 1_000 }, removeOnFail: KEEP.removeOnFail },
    worker: { concurrency: 20 },
  },
  scan: {
    name: 'scan',
    schema: ScanJob,
    jobs: { ...exponential(6, 2_000), ...KEEP },
    worker: { concurrency: 4, gitlabLane: 'origin' },
  },
  sync: {
    name: 'sync',
    schema: SyncJob,
    jobs: { ...exponential(10, 1_000), ...KEEP },
    worker: { concurrency: 10, gitlabLane: 'origin' },
  },
  // a decision is retried only briefly; the decision window itself is handle-click.ts's (core/approvals)
  decisions: {
    name: 'decisions',
    schema: DecisionJob,
    jobs: { ...exponential(5, 1_000), ...KEEP },
    worker: { concurrency: 10, gitlabLane: 'interactive' },
  },
  notices: {
    name: 'notices',
    schema: NoticeJob,
    jobs: { ...exponential(6, 1_000), ...KEEP },
    worker: { concurrency: 10, maxAgeMs: 10 * 60_000 },
  },
  // a timer that failed for good is removed, so the next sync of its deployment can arm it again
  nudges: {
    name: 'nudges',
    schema: NudgeJob,
    jobs: { ...exponential(8, 2_000), ...KEEP, removeOnFail: true },
    worker: { concurrency: 10 },
  },
  /**
   * What is per person: publishing a Home tab, and after a deployment changed, its DMs and the Home tabs of people
   * who looked lately. Apart from the card queues so that a burst of Home refreshes never delays a card.
   */
  personal: {
    name: 'personal',
    schema: PersonalJob,
    jobs: { ...exponential(6, 1_000), ...KEEP },
    worker: { concurrency: 10, maxAgeMs: 10 * 60_000 },
  },
  /** One sweep at a time across all replicas (global concurrency 1, set by sweeper.ts). */
  sweep: {
    name: 'sweep',
    schema: SweepJob,
    jobs: { ...exponential(4, 5_000), removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    worker: { concurrency: 1, gitlabLane: 'background' },
  },
} as const satisfies Record<string, QueueDeclaration>;

export type QueueName = keyof typeof QUEUES;
/** The queues whose job counts /metrics shows (every one). */
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];
export type JobOf<N extends QueueName> = z.infer<(typeof QUEUES)[N]['schema']>;
