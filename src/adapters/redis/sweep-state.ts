import type { Redis } from 'ioredis';
import type { CardStore, DeploymentRef } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

/** Open cards are read a page at a time (every one of them, newest first: none is left out of a sweep). */
const OPEN_CARDS_PAGE = 1_000;

/** How long a deployment hook saying `blocked` vouches for its project's other hooks (refreshed by each one). */
export const REPORTS_BLOCKED_TTL_S = 86_400;

/**
 * What the workers write of the projects in webhooks: each project seen (the sweep lists them), and whether its
 * deployment hooks reported a blocked deployment within REPORTS_BLOCKED_TTL_S (see processIntake).
 */
export function createProjectMemory(redis: Redis, keys: Keyspace) {
  return {
    async remember(projectId: number, opts: { reportsBlocked: boolean }): Promise<void> {
      const seen = redis.sadd(keys.knownProjects, String(projectId));
      // sent in the same turn: one round trip, and either failing fails the event (it is retried)
      await Promise.all(
        opts.reportsBlocked
          ? [seen, redis.set(keys.projectReportsBlocked(projectId), '1', 'EX', REPORTS_BLOCKED_TTL_S)]
          : [seen],
      );
    },
    async reportsBlocked(projectId: number): Promise<boolean> {
      return (await redis.exists(keys.projectReportsBlocked(projectId))) === 1;
    },
  };
}

/** What the sweep reads from Redis: projects seen in webhooks and cards not yet resolved. */
export function createSweepState(
  redis: Redis,
  keys: Keyspace,
  cards: Pick<CardStore, 'get'> & { openCardIds(limit?: number, offset?: number): Promise<number[]> },
) {
  return {
    async knownProjects(): Promise<number[]> {
      const members = await redis.smembers(keys.knownProjects);
      return members.map(Number).filter((id) => Number.isInteger(id) && id > 0);
    },
    async openCards(): Promise<DeploymentRef[]> {
      const refs: DeploymentRef[] = [];
      for (let offset = 0; ; offset += OPEN_CARDS_PAGE) {
        const ids = await cards.openCardIds(OPEN_CARDS_PAGE, offset);
        // a page's records in one round trip (ioredis pipelines commands sent in the same turn)
        const records = await Promise.all(ids.map((id) => cards.get(id)));
        records.forEach((record, i) => {
          if (record) refs.push({ projectId: record.projectId, deploymentId: ids[i]! });
        });
        if (ids.length < OPEN_CARDS_PAGE) return refs;
      }
    },
  };
}
