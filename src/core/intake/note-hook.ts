import type { SweepQueue } from './sweep-deployments.ts';

/** A project that cannot block is classified again when a hook names one of its environments, at most this often. */
export const RECLASSIFY_AFTER_HOOK_MS = 10 * 60_000;

export type NoteHookDeps = {
  state: {
    canBlockProject(projectId: number): Promise<boolean>;
    classifiedAt(projectId: number): Promise<number | null>;
    recordClassification(projectId: number, canBlock: boolean, at: number): Promise<void>;
  };
  queue: Pick<SweepQueue, 'requestScan'>;
  now(): number;
};

/**
 * What a hook tells the sweep's classification: a Deployment Hook reporting `blocked` proves its project can block;
 * a hook naming an environment of a project classified as one that cannot (or never classified) has it classified
 * now — a new protected environment shows up in hooks long before the slow cycle reads it.
 */
export async function noteHook(deps: NoteHookDeps, projectId: number, hook: { blocked: boolean }): Promise<void> {
  if (await deps.state.canBlockProject(projectId)) return;
  if (hook.blocked) {
    await deps.state.recordClassification(projectId, true, deps.now());
    return;
  }
  const at = await deps.state.classifiedAt(projectId);
  if (at !== null && deps.now() - at < RECLASSIFY_AFTER_HOOK_MS) return;
  await deps.queue.requestScan({
    projectId,
    environments: [],
    reason: 'hook names an environment',
    classify: true,
    unlessClassifiedWithinMs: RECLASSIFY_AFTER_HOOK_MS,
  });
}
