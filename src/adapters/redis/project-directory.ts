import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Keyspace } from './connection.ts';

/** What cards and scans need of a project: from group listings and project reads, never read per scan. */
export const ProjectInfo = z.object({
  id: z.number().int().positive(),
  path: z.string(),
  name: z.string(),
  webUrl: z.string(),
  /** when it was written (ms): a project read this long ago is read again (renamed, moved) */
  at: z.number(),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;

const CHUNK = 1_000;

/**
 * The sweep's knowledge of projects, in Redis (shared by replicas, flat in memory with the number of projects):
 * project info by id, the policy's paths resolved to ids, the last full listing, and the classification — which
 * projects have protected environments that require approvals, and when each was last looked at. Everything
 * here is derived from GitLab: lost (Redis lost its data), it is listed and classified again.
 */
export function createProjectDirectoryStore(redis: Redis, keys: Keyspace) {
  return {
    async info(projectId: number): Promise<ProjectInfo | null> {
      const raw = await redis.hget(keys.projectInfo, String(projectId));
      if (raw === null) return null;
      const parsed = ProjectInfo.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    },
    /** `at` defaults to now: a listing has just given them. */
    async saveInfo(infos: ReadonlyArray<Omit<ProjectInfo, 'at'> & { at?: number }>): Promise<void> {
      if (infos.length === 0) return;
      const at = Date.now();
      const fields = infos.map((p) => {
        const info: ProjectInfo = { id: p.id, path: p.path, name: p.name, webUrl: p.webUrl, at: p.at ?? at };
        return [String(p.id), JSON.stringify(info)] as const;
      });
      await redis.hset(keys.projectInfo, Object.fromEntries(fields));
    },
    async resolvedId(project: string): Promise<number | null> {
      const raw = await redis.hget(keys.projectIds, project.toLowerCase());
      return raw === null ? null : Number(raw);
    },
    async saveResolvedId(project: string, id: number): Promise<void> {
      await redis.hset(keys.projectIds, project.toLowerCase(), String(id));
    },

    async listedAt(): Promise<number | null> {
      const raw = await redis.get(keys.sweepListedFresh);
      return raw === null ? null : Number(raw);
    },
    async startListing(): Promise<void> {
      await redis.del(keys.sweepListing);
    },
    async addListed(ids: readonly number[]): Promise<void> {
      if (ids.length > 0) await redis.sadd(keys.sweepListing, ...ids.map(String));
    },
    /**
     * The listing becomes the listed projects. An incomplete one (a group could not be listed) only adds to them:
     * projects are dropped only by a listing that saw everything. `freshForMs` 0: the listing is not fresh (one
     * made before stays as fresh as it was), the next sweep lists again.
     */
    async finishListing(opts: { complete: boolean; freshForMs: number; at: number }): Promise<void> {
      const tx = redis.multi();
      if (opts.complete) tx.sunionstore(keys.sweepListed, keys.sweepListing);
      else tx.sunionstore(keys.sweepListed, keys.sweepListed, keys.sweepListing);
      tx.del(keys.sweepListing);
      if (opts.freshForMs > 0) tx.set(keys.sweepListedFresh, String(opts.at), 'PX', opts.freshForMs);
      await tx.exec();
    },
    async listedProjects(): Promise<number[]> {
      return ids(await redis.smembers(keys.sweepListed));
    },
    async canBlock(): Promise<number[]> {
      return ids(await redis.smembers(keys.sweepCanBlock));
    },
    async canBlockProject(projectId: number): Promise<boolean> {
      return (await redis.sismember(keys.sweepCanBlock, String(projectId))) === 1;
    },
    /** Of `projectIds`, those never classified, then those classified before `before` (ms), oldest first. */
    async classificationDue(projectIds: readonly number[], before: number): Promise<number[]> {
      const never: number[] = [];
      const stale: Array<[number, number]> = [];
      for (let i = 0; i < projectIds.length; i += CHUNK) {
        const chunk = projectIds.slice(i, i + CHUNK);
        const scores = await redis.zmscore(keys.sweepClassified, ...chunk.map(String));
        chunk.forEach((id, j) => {
          const at = scores[j];
          if (at === null || at === undefined) never.push(id);
          else if (Number(at) < before) stale.push([id, Number(at)]);
        });
      }
      return [...never, ...stale.sort((a, b) => a[1] - b[1]).map(([id]) => id)];
    },
    async classifiedAt(projectId: number): Promise<number | null> {
      const score = await redis.zscore(keys.sweepClassified, String(projectId));
      return score === null ? null : Number(score);
    },
    async recordClassification(projectId: number, canBlock: boolean, at: number): Promise<void> {
      const tx = redis.multi().zadd(keys.sweepClassified, at, String(projectId));
      if (canBlock) tx.sadd(keys.sweepCanBlock, String(projectId));
      else tx.srem(keys.sweepCanBlock, String(projectId));
      await tx.exec();
    },
    /** A classification to be made again at the next sweep (a hook showed an environment). */
    async classifyAgain(projectId: number): Promise<void> {
      await redis.zrem(keys.sweepClassified, String(projectId));
    },
    async groupApprovals(groupPath: string): Promise<boolean | null> {
      const raw = await redis.get(keys.groupApprovals(groupPath));
      return raw === null ? null : raw === '1';
    },
    async saveGroupApprovals(groupPath: string, requires: boolean, ttlMs: number): Promise<void> {
      await redis.set(keys.groupApprovals(groupPath), requires ? '1' : '0', 'PX', ttlMs);
    },
    /** A project GitLab no longer shows us: nothing of it is swept any more. */
    async forget(projectId: number): Promise<void> {
      const id = String(projectId);
      await redis
        .multi()
        .srem(keys.knownProjects, id)
        .srem(keys.sweepListed, id)
        .srem(keys.sweepCanBlock, id)
        .zrem(keys.sweepClassified, id)
        .hdel(keys.projectInfo, id)
        .exec();
    },
  };
}
export type ProjectDirectoryStore = ReturnType<typeof createProjectDirectoryStore>;

function ids(members: string[]): number[] {
  return members.map(Number).filter((id) => Number.isInteger(id) && id > 0);
}
