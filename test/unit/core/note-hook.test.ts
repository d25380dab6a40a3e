import { describe, expect, it } from 'vitest';
import { noteHook, RECLASSIFY_AFTER_HOOK_MS, type NoteHookDeps } from '../../../src/core/intake/note-hook.ts';

const NOW = 1_800_000_000_000;

function world(classified: Map<number, { canBlock: boolean; at: number }>) {
  const scans: Array<{ projectId: number; classify?: boolean }> = [];
  const deps: NoteHookDeps = {
    state: {
      canBlockProject: async (id) => classified.get(id)?.canBlock ?? false,
      classifiedAt: async (id) => classified.get(id)?.at ?? null,
      recordClassification: async (id, canBlock, at) => void classified.set(id, { canBlock, at }),
    },
    queue: { requestScan: async (job) => void scans.push(job) },
    now: () => NOW,
  };
  return { deps, scans };
}

describe('noteHook', () => {
  it('marks a project whose deployment hook reported a blocked deployment as one that can block', async () => {
    const classified = new Map<number, { canBlock: boolean; at: number }>([[1, { canBlock: false, at: NOW - 5 }]]);
    const { deps, scans } = world(classified);
    await noteHook(deps, 1, { blocked: true });
    expect(classified.get(1)).toEqual({ canBlock: true, at: NOW });
    expect(scans).toEqual([]);
  });

  it('has a project that cannot block classified again when a hook names one of its environments', async () => {
    const classified = new Map([
      [1, { canBlock: false, at: NOW - RECLASSIFY_AFTER_HOOK_MS - 1 }],
      [2, { canBlock: false, at: NOW - 1_000 }],
      [3, { canBlock: true, at: NOW - RECLASSIFY_AFTER_HOOK_MS - 1 }],
    ]);
    const { deps, scans } = world(classified);
    for (const id of [1, 2, 3, 4]) await noteHook(deps, id, { blocked: false });
    // 2 was classified a moment ago, 3 is swept anyway; 4 was never classified
    expect(scans.map((s) => [s.projectId, s.classify])).toEqual([
      [1, true],
      [4, true],
    ]);
  });
});
