import type { Queue } from 'bullmq';
import type { DeploymentRef, SlackUser } from '../../core/ports.ts';
import type { PersonalJob } from './declarations.ts';

export type { PersonalJob } from './declarations.ts';

export type PersonalProducer = {
  /** A card was posted or changed: update DMs and the Home tabs of recent viewers (deduplicated per deployment). */
  cardChanged(ref: DeploymentRef): Promise<void>;
  /** Publish one person's Home tab (deduplicated per person). */
  refreshHome(user: SlackUser): Promise<void>;
};

const safeId = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, '_');

/** Jobs of the `personal` queue (declarations.ts). */
export function createPersonalProducer(queue: Queue<PersonalJob>): PersonalProducer {
  // While a job waits, another one adds nothing (it will read the newest state anyway); while one runs,
  // the newest is kept to run after it.
  const add = (job: PersonalJob, id: string) =>
    queue.add(job.kind, job, { deduplication: { id, keepLastIfActive: true } }).then(() => undefined);
  return {
    cardChanged: (ref) =>
      add({ kind: 'changed', projectId: ref.projectId, deploymentId: ref.deploymentId }, `changed-${ref.deploymentId}`),
    refreshHome: (user) =>
      add(
        { kind: 'home', teamId: user.teamId, userId: user.userId },
        `home-${safeId(user.teamId)}-${safeId(user.userId)}`,
      ),
  };
}
