import type { Config } from '../config/load.ts';
import { repairLostCards } from '../core/cards/repair-lost-cards.ts';
import { nextNudgeFor } from '../core/reminders/track-nudges.ts';
import { cardChannels } from '../core/routing/route-deployment.ts';
import { createProjectDirectory } from '../adapters/gitlab/projects.ts';
import { resumeReplica } from '../adapters/queue/reclaim.ts';
import { whenReady } from '../adapters/redis/connection.ts';
import { createDataGuard } from '../adapters/redis/data-guard.ts';
import { createLatestDeployments } from '../adapters/redis/latest-deployments.ts';
import { createProjectMemory, createSweepState } from '../adapters/redis/sweep-state.ts';
import { startPersonalWorker } from '../entrypoints/workers/personal-worker.ts';
import type { ProcessorDeps } from '../entrypoints/workers/processors.ts';
import { startSweeper, type Sweeper } from '../entrypoints/workers/sweeper.ts';
import { startWorkers } from '../entrypoints/workers/workers.ts';
import { noteHook } from '../core/intake/note-hook.ts';
import type { Adapters } from './adapters.ts';
import type { Infrastructure } from './infrastructure.ts';
import type { GreenlightOptions } from './options.ts';

/** After Redis lost its data, open cards this recent are looked for in Slack and synced again. */
const LOST_CARDS_WINDOW_MS = 14 * 86_400_000;

/** The worker role: every queue's worker, the sweep, and the check that Redis kept greenlight's data. */
export async function startWorkerRole(
  config: Config,
  infra: Infrastructure,
  a: Adapters,
  opts: GreenlightOptions,
): Promise<{ sweeper: Sweeper; close(force?: boolean): Promise<void> }> {
  const { redis, keys, clock, logger, producer, factory } = infra;
  // Redis unreachable at start: the workers start once it answers (these connections refuse commands until then).
  await Promise.all([whenReady(redis), whenReady(infra.queueConnection)]);
  // Before any worker runs: what this replica's previous process left unfinished is resumed at once (reclaim.ts).
  const replica = await resumeReplica({
    redis,
    keys,
    replicaId: config.replicaId,
    connection: infra.queueConnection,
    logger,
  });
  if (replica.running) factory.recordRunningJobs(replica.running);
  const directory = createProjectDirectory(a.gitlabConn);
  const deps: ProcessorDeps = {
    gitlab: a.gitlab,
    producer,
    chat: a.chat,
    sync: {
      gitlab: a.gitlab,
      cards: a.cards,
      chat: a.chat,
      identity: a.identity,
      policy: config.policy,
      clock,
      logger,
      membership: a.membership,
      supersede: { latest: createLatestDeployments(redis, keys), queue: producer },
      // looks at the data marker first: a loss not noticed yet is noticed by the sync (data-guard.ts)
      recovery: { lostAt: () => dataGuard.lostAt() },
      nudges: { nextNudge: (deployment, route) => nextNudgeFor({ nudges: a.nudgeStore, clock }, deployment, route) },
      changes: { ...a.changes, queue: producer, delay: (ms) => new Promise((done) => setTimeout(done, ms).unref()) },
    },
    decide: {
      ...{ gitlab: a.gitlab, identity: a.identity, cards: a.cards, queue: producer, policy: config.policy, logger },
      ...{ membership: a.membership, visibility: a.visibility },
    },
    projects: createProjectMemory(redis, keys),
    linkMode: a.identity.linkHint,
    command: config.slack.command,
    clock,
    audit: a.audit,
    nudges: a.nudges,
    onCardChanged: (ref) => infra.personal.cardChanged(ref),
    sweep: {
      classify: {
        gitlab: directory,
        state: a.projectStore,
        classifyEveryMs: config.policy.sweepClassifyEveryMs,
        now: () => clock.now(),
        logger,
      },
      hasOpenCard: async (deploymentId) => (await redis.zscore(keys.openCards, String(deploymentId))) !== null,
      noteHook: (projectId, hook) =>
        noteHook({ state: a.projectStore, queue: producer, now: () => clock.now() }, projectId, hook),
      forget: (projectId) => a.projectStore.forget(projectId),
    },
  };
  const sweeper = await startSweeper({
    deps: {
      gitlab: directory,
      state: { ...a.projectStore, ...createSweepState(redis, keys, a.cards) },
      queue: producer,
      policy: config.policy,
      now: () => clock.now(),
      ...(opts.sweepMaxGapMs !== undefined && { maxGapMs: opts.sweepMaxGapMs }),
      budgetPerMinute: config.gitlab.limits.sweepPerMinute || config.gitlab.limits.perMinute,
    },
    everyMs: config.policy.sweepEveryMs,
    factory,
    queueConnection: infra.queueConnection,
    logger,
  });
  const dataGuard = createDataGuard({
    redis,
    keys,
    clock,
    logger,
    everyMs: opts.dataCheckEveryMs ?? 30_000,
    onLoss: async (reason) => {
      await sweeper.reschedule();
      // no forced listing: if the data was really lost, the listing's record went with it and it runs anyway;
      // every project classified at once: which could block went with the data too (sweep-deployments.ts)
      await sweeper.requestNow(`redis lost data (${reason})`, { fullListing: false, classifyAll: true });
      await repairLostCards(
        { chat: a.chat, queue: producer, logger, now: clock.now() },
        { channels: cardChannels(config.policy), windowMs: LOST_CARDS_WINDOW_MS },
      );
    },
  });
  // before any card worker runs: a card is claimed only while the marker is there (card-store.ts)
  await dataGuard.start();
  startWorkers(deps, factory, logger);
  const { personalStore: store, personalChat: chat } = a;
  const visible = { identity: a.identity, membership: a.membership, policy: config.policy, visibility: a.visibility };
  startPersonalWorker(
    {
      home: {
        index: a.pendingIndex,
        ...visible,
        store,
        linkTarget: a.linkTarget,
        clock,
        command: config.slack.command,
      },
      notify: { cards: a.cards, store, chat, ...visible },
      ...{ chat, store, producer: infra.personal, clock },
    },
    factory,
    logger,
  );
  logger.info({ role: config.role }, 'greenlight workers started');
  return {
    sweeper,
    /** `force`: see QueueFactory.close */
    async close(force = false) {
      await dataGuard.close();
      await sweeper.close();
      // the replica's name is given back only once its jobs are finished: the next process with it resumes none
      await factory.close(force);
      await replica.identity.release();
    },
  };
}
