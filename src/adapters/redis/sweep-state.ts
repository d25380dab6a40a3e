import type { Redis } from 'ioredis';
import type { CardStore, DeploymentRef } from '../../core/ports.ts';
import type { Keyspace } from './connection.ts';

/** How many open cards one sweep reads again at most (newest first). */
export const SWEEP_OPEN_CARDS_MAX = 5_000;

/** What the sweep reads from Redis: projects seen in webhooks and cards not yet resolved. */
export function createSweepState(redis: Redis, keys: Keyspace, cards: Pick<CardStore, 'get'> & { openCardIds(limit?: number): Promise<number[]> }) {
  return {
    async knownProjects(): Promise<number[]> {
      const members = await redis.smembers(keys.knownProjects);
      return members.map(Number).filter((id) => Number.isInteger(id) && id > 0);
    },
    async forgetProject(projectId: number): Promise<void> {
      await redis.srem(keys.knownProjects, String(projectId));
    },
    async openCards(): Promise<DeploymentRef[]> {
      const refs: DeploymentRef[] = [];
      for (const deploymentId of await cards.openCardIds(SWEEP_OPEN_CARDS_MAX)) {
        const record = await cards.get(deploymentId);
        if (record) refs.push({ projectId: record.projectId, deploymentId });
      }
      return refs;
    },
  };
}
