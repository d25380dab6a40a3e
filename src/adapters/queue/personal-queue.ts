import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeploymentRef, SlackUser } from '../../core/ports.ts';

/**
 * One queue for what is per person: publishing a Home tab, and after a deployment changed, its DMs and the
 * Home tabs of people who looked lately. Kept apart from the card queues so that a burst of Home refreshes
 * never delays a card.
 */
export const PERSONAL_QUEUE = 'personal';

export type PersonalJob =
  { kind: 'changed'; projectId: number; deploymentId: number } | { kind: 'home'; teamId: string; userId: string };

export type PersonalProducer = {
  /** A card was posted or changed: update DMs and the Home tabs of recent viewers (deduplicated per deployment). */
  cardChanged(ref: DeploymentRef): Promise<void>;
  /** Publish one person's Home tab (deduplicated per person). */
  refreshHome(user: SlackUser): Promise<void>;
};

const safeId = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, '_');

export function createPersonalQueue(
  connection: Redis,
  prefix: string,
): { queue: Queue<PersonalJob>; producer: PersonalProducer; close(): Promise<void> } {
  const queue = new Queue<PersonalJob>(PERSONAL_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 6,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { age: 3_600, count: 2_000 },
      removeOnFail: { age: 7 * 86_400, count: 5_000 },
    },
  });
  // While a job waits, another one adds nothing (it will read the newest state anyway); while one runs,
  // the newest is kept to run after it.
  const add = (job: PersonalJob, id: string) =>
    queue.add(job.kind, job, { deduplication: { id, keepLastIfActive: true } }).then(() => undefined);
  return {
    queue,
    producer: {
      cardChanged: (ref) =>
        add(
          { kind: 'changed', projectId: ref.projectId, deploymentId: ref.deploymentId },
          `changed-${ref.deploymentId}`,
        ),
      refreshHome: (user) =>
        add(
          { kind: 'home', teamId: user.teamId, userId: user.userId },
          `home-${safeId(user.teamId)}-${safeId(user.userId)}`,
        ),
    },
    close: () => queue.close(),
  };
}
