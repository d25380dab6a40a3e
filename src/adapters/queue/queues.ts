import { randomUUID } from 'node:crypto';
import type { JobsOptions, Queue } from 'bullmq';
import type { JobPlacement, WorkQueue } from '../../core/ports.ts';
import type { IntakeEvent } from '../../core/intake/intake-event.ts';
import {
  DELIVERY_MEMORY_MS,
  type DecisionJob,
  type JobOf,
  type NoticeJob,
  type NudgeJob,
  type ScanJob,
  type SyncJob,
} from './declarations.ts';
import type { QueueFactory } from './factory.ts';
import { currentGitLabLane } from '../gitlab/request-budget.ts';

export type { DecisionJob, NoticeJob, NudgeJob, ScanJob, SyncJob, WebhookJob } from './declarations.ts';

/** The queues greenlight's own jobs travel through (the sweep's is sweeper.ts's). */
const CARD_QUEUES = ['intake', 'scan', 'sync', 'decisions', 'notices', 'nudges', 'personal'] as const;
type CardQueue = (typeof CARD_QUEUES)[number];

export type Queues = { [K in CardQueue]: Queue<JobOf<K>> };

export function createQueues(factory: QueueFactory): Queues {
  return Object.fromEntries(CARD_QUEUES.map((name) => [name, factory.queue(name)])) as Queues;
}

/** BullMQ runs jobs without a priority before any prioritized one: the sweep's jobs wait behind webhook work. */
export const BACKGROUND_PRIORITY = 10;
/** Scans asked for by hooks wait this long, so that a burst of hooks for one project coalesces into one scan. */
export const SCAN_COALESCE_MS = 500;

/** Job options of a placement. */
function placed(placement: JobPlacement | undefined, dedupeId: string): JobsOptions {
  const background = placement?.background === true;
  return {
    deduplication: { id: dedupeId, keepLastIfActive: true },
    ...(background && { priority: BACKGROUND_PRIORITY }),
    ...(placement?.delayMs !== undefined && placement.delayMs > 0 && { delay: placement.delayMs }),
  };
}

/**
 * Adds a deduplicated job. One job per deployment (or scan scope) at a time, whoever asked: when a webhook's request
 * meets the sweep's job still waiting (with its priority, perhaps delayed), that job is hurried to the front instead,
 * so webhook work never waits behind the sweep and a deployment is never read twice at once.
 */
async function addPlaced<T>(
  queue: Queue<T>,
  name: string,
  data: T,
  placement: JobPlacement | undefined,
  dedupeId: string,
): Promise<void> {
  const jobId = randomUUID();
  const added = await queue.add(name as never, data as never, { jobId, ...placed(placement, dedupeId) });
  if (added.id === jobId || placement?.background === true || !added.id) return;
  const waiting = await queue.getJob(added.id);
  if (!waiting || waiting.priority === 0) return;
  const state = await waiting.getState();
  // a job that started meanwhile, or finished, is left alone (the request is then kept as the next run)
  if (state === 'delayed') await waiting.promote().catch(() => undefined);
  if (state !== 'delayed' && state !== 'prioritized' && state !== 'waiting') return;
  await waiting.changePriority({ priority: 0 }).catch(() => undefined);
  // the webhook's reason from now on: its GitLab requests are no longer the sweep's (run-job.ts, gitlabLaneOf)
  const reason = (data as { reason?: unknown }).reason;
  if (typeof reason === 'string')
    await waiting.updateData({ ...(waiting.data as object), reason } as never).catch(() => undefined);
}

/**
 * A sync asked for by background work (the sweep's jobs: a late changes summary, a superseded card) is background
 * work too: it takes the sweep's share of the GitLab budget instead of the webhooks' (run-job.ts sets the lane).
 */
function inheritedPlacement(): JobPlacement | undefined {
  return currentGitLabLane() === 'background' ? { background: true } : undefined;
}

/** BullMQ job ids must not contain ':'; GitLab's Idempotency-Key is a UUID, the body digest hex. */
function safeId(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export type Producer = WorkQueue & {
  /** A webhook delivery; 'duplicate' when the same delivery key was queued in the last DELIVERY_MEMORY_MS. */
  enqueueWebhook(event: IntakeEvent, deliveryKey: string): Promise<'queued' | 'duplicate'>;
  requestScan(job: ScanJob, placement?: JobPlacement): Promise<void>;
  enqueueDecision(job: DecisionJob): Promise<'queued' | 'duplicate'>;
  enqueueNotice(job: NoticeJob): Promise<void>;
  /** One snooze per person and reminder: a double click adds nothing. */
  enqueueSnooze(job: Extract<NudgeJob, { kind: 'snooze' }>): Promise<void>;
};

export function createProducer(queues: Queues): Producer {
  return {
    async enqueueWebhook(event, deliveryKey) {
      // A new job id per request: when the delivery key deduplicates, BullMQ hands back the earlier job's id.
      const jobId = randomUUID();
      const job = await queues.intake.add(
        'event',
        { event, deliveryKey },
        { jobId, deduplication: { id: `delivery-${safeId(deliveryKey)}`, ttl: DELIVERY_MEMORY_MS } },
      );
      return job.id === jobId ? 'queued' : 'duplicate';
    },
    async requestSync(ref, reason, placement = inheritedPlacement()) {
      await addPlaced(queues.sync, 'sync', { ...ref, reason } satisfies SyncJob, placement, `dep-${ref.deploymentId}`);
    },
    async requestScan(job, placement = { delayMs: SCAN_COALESCE_MS }) {
      // Scans are coalesced per project and environment: a request meets at most one scan running and one
      // waiting with the same scope, and a waiting scan keeps its own data. Coalescing a project's scans of
      // different environments into one would drop the environments of all but that waiting scan.
      const project = safeId(String(job.projectId));
      const environments = [...new Set(job.environments)];
      if (job.classify) {
        await addPlaced(queues.scan, 'scan', { ...job, environments: [] }, placement, `classify-${project}`);
        return;
      }
      if (environments.length === 0) {
        await addPlaced(queues.scan, 'scan', { ...job, environments: [] }, placement, `project-${project}`);
        return;
      }
      await Promise.all(
        environments.map((environment) =>
          addPlaced(
            queues.scan,
            'scan',
            { ...job, environments: [environment] },
            placement,
            // base64url: environment names may hold '/', ' ', '$', '{', '}' (safeId would make "a/b" and "a_b" one id)
            `project-${project}-env-${Buffer.from(environment).toString('base64url')}`,
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
