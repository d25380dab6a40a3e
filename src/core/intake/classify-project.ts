import type { Logger } from '../ports.ts';
import type { ListedProject } from './sweep-deployments.ts';

export type ClassifyDeps = {
  gitlab: {
    project(project: number): Promise<ListedProject | null>;
    projectRequiresApproval(projectId: number): Promise<boolean | 'unknown' | 'gone'>;
    groupRequiresApproval(groupPath: string): Promise<boolean | 'unknown'>;
  };
  state: {
    info(projectId: number): Promise<ListedProject | null>;
    saveInfo(projects: readonly ListedProject[]): Promise<void>;
    groupApprovals(groupPath: string): Promise<boolean | null>;
    saveGroupApprovals(groupPath: string, requires: boolean, ttlMs: number): Promise<void>;
    recordClassification(projectId: number, canBlock: boolean, at: number): Promise<void>;
    classifiedAt(projectId: number): Promise<number | null>;
    canBlockProject(projectId: number): Promise<boolean>;
    forget(projectId: number): Promise<void>;
  };
  /** how long a group's answer is kept (the slow cycle, `sweep.classify_every`) */
  classifyEveryMs: number;
  now(): number;
  logger: Logger;
};

/** "a/b/c/web" -> ["a", "a/b", "a/b/c"]: the groups whose group-level protected environments reach the project. */
export function ancestorGroups(projectPath: string): string[] {
  const parts = projectPath.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Can a deployment of this project wait for approval? Only when a protected environment that reaches it requires
 * approvals: one of the project's own (by name), or one of an ancestor group's (by tier; GitLab 14.3+, Premium).
 * A project whose own protection, or a group's, cannot be read counts as one that can block (swept, never silently
 * missed).
 * Group answers are kept for the slow cycle: a group of thousands of projects is read once, not per project.
 */
export async function classifyProject(
  deps: ClassifyDeps,
  projectId: number,
  opts: { unlessClassifiedWithinMs?: number } = {},
): Promise<'can-block' | 'cannot-block' | 'gone'> {
  // Two requests for the same project (a sweep at start and the one after it, or two hooks) read GitLab once.
  const at = opts.unlessClassifiedWithinMs === undefined ? null : await deps.state.classifiedAt(projectId);
  if (at !== null && deps.now() - at < opts.unlessClassifiedWithinMs!)
    return (await deps.state.canBlockProject(projectId)) ? 'can-block' : 'cannot-block';
  const own = await deps.gitlab.projectRequiresApproval(projectId);
  if (own === 'gone') {
    await deps.state.forget(projectId);
    deps.logger.info({ projectId }, 'sweep: stopped sweeping a project GitLab no longer shows');
    return 'gone';
  }
  let canBlock = own !== false;
  if (!canBlock) {
    let info = await deps.state.info(projectId);
    if (!info) {
      info = await deps.gitlab.project(projectId);
      if (info) await deps.state.saveInfo([info]);
    }
    for (const group of info ? ancestorGroups(info.path) : []) {
      let requires = await deps.state.groupApprovals(group);
      if (requires === null) {
        const answer = await deps.gitlab.groupRequiresApproval(group);
        if (answer === 'unknown')
          deps.logger.warn(
            { group },
            "sweep: GITLAB_TOKEN may not read the group's protected environments (Maintainer or Owner role); " +
              'every project below it is scanned at every sweep',
          );
        requires = answer !== false;
        await deps.state.saveGroupApprovals(group, requires, deps.classifyEveryMs);
      }
      if (requires) {
        canBlock = true;
        break;
      }
    }
  }
  await deps.state.recordClassification(projectId, canBlock, deps.now());
  deps.logger.debug({ projectId, canBlock, own }, 'project classified');
  return canBlock ? 'can-block' : 'cannot-block';
}
