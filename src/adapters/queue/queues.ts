import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Notice } from '../../core/approvals/notices.ts';
import type { DecisionAction } from '../../core/approvals/decide-deployment.ts';
import type { DeploymentRef, JobPlacement, SlackUser, WorkQueue } from '../../core/ports.ts';

export const QUEUE = {
  scan: 'scan',
  sync: 'sync',
  decisions: 'decisions',
  notices: 'notices',
  nudges: 'nudges',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export type SyncJob = DeploymentRef & { reason: string };
export type ScanJob = {
  projectId: number | string;
  environments: string[];
  reason: string;
  /** read the project's protected environments first (the sweep's slow cycle), and scan only if it can block */
  classify?: boolean;
  /** ... unless it was classified this recently (a duplicate request) */
  unlessClassifiedWithinMs?: number;
  /** leave deployments with open cards alone (the sweep reads those itself) */
  skipOpenCards?: boolean;
};

/** BullMQ runs jobs without a priority before any prioritized one: the sweep's jobs wait behind webhook work. */
export const BACKGROUND_PRIORITY = 10;
/** Scans asked for by hooks wait this long, so that a burst of hooks for one project coalesces into one scan. */
export const SCAN_COALESCE_MS = 500;

/** Job options of a placement; background jobs have their own dedupe ids (never hiding a webhook's job). */
function placed(placement: JobPlacement | undefined, dedupeId: string): JobsOptions {
  const background = placement?.background === true;
  return {
    deduplication: { id: background ? `sweep-${dedupeId}` : dedupeId, keepLastIfActive: true },
    ...(background && { priority: BACKGROUND_PRIORITY }),
    ...(placement?.delayMs !== undefined && placement.delayMs > 0 && { delay: placement.delayMs }),
  };
}
export type DecisionJob = {
  ref: DeploymentRef;
  slackUser: SlackUser;
  action: DecisionAction;
  comment?: string;
  representedAs?: string;
  /** where the person clicked, for their notice */
  channel: string | null;
  requestedAt: number;
};
export type NoticeJob = {
  channel: string;
  user: string;
  notice: Notice;
  /** Slack team of `user`: the Link button is bound to it */ team?: string;
};
/** Reminder timers ('fire', one per deployment and seq) and Snooze clicks ('snooze'): see nudge-timer.ts. */
export type NudgeJob =
  | { kind: 'fire'; ref: DeploymentRef; seq: number }
  | {
      kind: 'snooze';
      ref: DeploymentRef;
      slackUserId: string;
      /** the clicker's Slack team (absent in jobs queued before it was added) */
      teamId?: string;
      channel: string | null;
      reminderSeq: number;
      requestedAt: number;
    };

const KEEP = {
  removeOnComplete: { age: 3_600, count: 2_000 },
  removeOnFail: { age: 7 * 86_400, count: 5_000 },
} as const;

/** Retries with exponential backoff: 1 s, 2 s, 4 s ... (429s wait for Retry-After instead, see run-job.ts). */
export const JOB_DEFAULTS: Record<QueueName, JobsOptions> = {
  scan: { attempts: 6, backoff: { type: 'exponential', delay: 2_000 }, ...KEEP },
  sync: { attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, ...KEEP },
  // a decision is retried only briefly: never an approval long after the click (see DECISION_WINDOW_MS)
  decisions: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 }, ...KEEP },
  notices: { attempts: 6, backoff: { type: 'exponential', delay: 1_000 }, ...KEEP },
  // a timer that failed for good is removed, so the next sync of its deployment can arm it again
  nudges: { attempts: 8, backoff: { type: 'exponential', delay: 2_000 }, ...KEEP, removeOnFail: true },
};

export type Queues = { [K in QueueName]: Queue } & {
  close(): Promise<void>;
  /** the one connection every queue uses */ connection: Redis;
};

export function createQueues(connection: Redis, prefix: string): Queues {
  const make = (name: QueueName) => new Queue(name, { connection, prefix, defaultJobOptions: JOB_DEFAULTS[name] });
  const queues = {
    scan: make('scan'),
    sync: make('sync'),
    decisions: make('decisions'),
    notices: make('notices'),
    nudges: make('nudges'),
  };
  return {
    ...queues,
    connection,
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}

/** BullMQ job ids must not contain ':'; GitLab's Idempotency-Key is a UUID, the body digest hex. */
function safeId(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export type Producer = WorkQueue & {
  requestScan(job: ScanJob, placement?: JobPlacement): Promise<void>;
  enqueueDecision(job: DecisionJob): Promise<'queued' | 'duplicate'>;
  enqueueNotice(job: NoticeJob): Promise<void>;
  /** One snooze per person and reminder: a double click adds nothing. */
  enqueueSnooze(job: Extract<NudgeJob, { kind: 'snooze' }>): Promise<void>;
};

export function createProducer(queues: Queues): Producer {
  return {
    async requestSync(ref, reason, placement) {
      await queues.sync.add('sync', { ...ref, reason } satisfies SyncJob, placed(placement, `dep-${ref.deploymentId}`));
    },
    async requestScan(job, placement = { delayMs: SCAN_COALESCE_MS }) {
      // Scans are coalesced per project and environment: a request meets at most one scan running and one
      // waiting with the same scope, and a waiting scan keeps its own data. Coalescing a project's scans of
      // different environments into one would drop the environments of all but that waiting scan.
      const project = safeId(String(job.projectId));
      const environments = [...new Set(job.environments)];
      if (job.classify) {
        await queues.scan.add('scan', { ...job, environments: [] }, placed(placement, `classify-${project}`));
        return;
      }
      if (environments.length === 0) {
        await queues.scan.add('scan', { ...job, environments: [] }, placed(placement, `project-${project}`));
        return;
      }
      await Promise.all(
        environments.map((environment) =>
          queues.scan.add(
            'scan',
            { ...job, environments: [environment] },
            // base64url: environment names may hold '/', ' ', '$', '{', '}' (safeId would make "a/b" and "a_b" one id)
            placed(placement, `project-${project}-env-${Buffer.from(environment).toString('base64url')}`),
          ),
        ),
      );
    },
    async enqueueDecision(job) {
      // One decision per person, deployment and action at a time: a double click adds nothing.
      const dedupe = `decide-${job.ref.deploymentId}-${safeId(job.slackUser.userId)}-${job.action}`;
      if (await queues.decisions.getDeduplicationJobId(dedupe)) return 'duplicate';
      await queues.decisions.add(job.action, job, { deduplication: { id: dedupe } });
      return 'queued';
    },
    async enqueueNotice(job) {
      await queues.notices.add('notice', job);
    },
    async enqueueSnooze(job) {
      await queues.nudges.add('snooze', job, {
        jobId: `snooze-${job.ref.deploymentId}-${job.reminderSeq}-${safeId(job.slackUserId)}`,
      });
    },
  };
}
