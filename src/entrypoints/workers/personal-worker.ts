import { buildHome, type BuildHomeDeps } from '../../core/personal/build-home.ts';
import { notifyApprovers, type NotifyDeps } from '../../core/personal/notify-approvers.ts';
import type { PersonalChat, PersonalStore } from '../../core/personal/ports.ts';
import type { Clock, Logger } from '../../core/ports.ts';
import type { QueueFactory } from '../../adapters/queue/factory.ts';
import type { PersonalJob, PersonalProducer } from '../../adapters/queue/personal-queue.ts';
import { jobPolicy, runJob } from './run-job.ts';

/** A Home tab opened within this window is re-published when a deployment changes. */
export const HOME_AUDIENCE_WINDOW_MS = 24 * 3_600_000;

export type PersonalWorkerDeps = {
  home: Omit<BuildHomeDeps, 'logger'>;
  notify: Omit<NotifyDeps, 'logger'>;
  chat: PersonalChat;
  store: Pick<PersonalStore, 'homeAudience'>;
  producer: PersonalProducer;
  clock: Clock;
};

export async function processPersonal(deps: PersonalWorkerDeps, job: PersonalJob, log: Logger): Promise<string> {
  if (job.kind === 'home') {
    const user = { teamId: job.teamId, userId: job.userId };
    const home = await buildHome({ ...deps.home, logger: log }, user);
    await deps.chat.publishHome(user.userId, home);
    log.debug(
      { slackUser: user.userId, forYou: home.forYou?.total ?? null, all: home.all.total },
      'home tab published',
    );
    return 'published';
  }
  // Every recent viewer sees "All pending": their tabs are refreshed first (cheap: one deduplicated job each).
  const audience = await deps.store.homeAudience(deps.clock.now() - HOME_AUDIENCE_WINDOW_MS);
  for (const user of audience) await deps.producer.refreshHome(user);
  const { sent, updated } = await notifyApprovers({ ...deps.notify, logger: log }, job.deploymentId);
  log.debug({ deploymentId: job.deploymentId, homes: audience.length, sent, updated }, 'personal updates done');
  return `homes ${audience.length}, dms sent ${sent}, updated ${updated}`;
}

export function startPersonalWorker(deps: PersonalWorkerDeps, factory: QueueFactory, logger: Logger) {
  return factory.worker(
    'personal',
    runJob(logger, jobPolicy('personal'), (job, log) => processPersonal(deps, job.data, log)),
  );
}
