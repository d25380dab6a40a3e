import { beforeEach, describe, expect, it } from 'vitest';
import { ancestorGroups, classifyProject, type ClassifyDeps } from '../../../src/core/intake/classify-project.ts';
import type { ListedProject } from '../../../src/core/intake/sweep-deployments.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';

const NOW = 1_800_000_000_000;

describe('classifyProject', () => {
  let own: Map<number, boolean | 'unknown' | 'gone'>;
  let groups: Map<string, boolean | 'unknown'>;
  let info: Map<number, ListedProject>;
  let cache: Map<string, boolean>;
  let classified: Map<number, { canBlock: boolean; at: number }>;
  let forgotten: number[];
  let groupReads: string[];
  let deps: ClassifyDeps;

  beforeEach(() => {
    own = new Map();
    groups = new Map();
    info = new Map();
    cache = new Map();
    classified = new Map();
    forgotten = [];
    groupReads = [];
    deps = {
      gitlab: {
        project: async (id) => info.get(id) ?? null,
        projectRequiresApproval: async (id) => own.get(id) ?? false,
        groupRequiresApproval: async (path) => {
          groupReads.push(path);
          return groups.get(path) ?? false;
        },
      },
      state: {
        info: async (id) => info.get(id) ?? null,
        saveInfo: async () => undefined,
        groupApprovals: async (path) => cache.get(path) ?? null,
        saveGroupApprovals: async (path, requires) => void cache.set(path, requires),
        recordClassification: async (id, canBlock, at) => void classified.set(id, { canBlock, at }),
        classifiedAt: async (id) => classified.get(id)?.at ?? null,
        canBlockProject: async (id) => classified.get(id)?.canBlock ?? false,
        forget: async (id) => void forgotten.push(id),
      },
      classifyEveryMs: 86_400_000,
      now: () => NOW,
      logger: new CapturingLogger(),
    };
  });
  const project = (id: number, path: string) => info.set(id, { id, path, name: path, webUrl: `https://gl/${path}` });

  it('names the groups whose group-level protected environments reach a project', () => {
    expect(ancestorGroups('a/b/c/web')).toEqual(['a', 'a/b', 'a/b/c']);
    expect(ancestorGroups('alice/tool')).toEqual(['alice']);
  });

  it("counts the project's own approval rules, and protection it may not read", async () => {
    own.set(1, true).set(2, 'unknown');
    project(3, 'acme/plain');
    expect(await classifyProject(deps, 1)).toBe('can-block');
    expect(await classifyProject(deps, 2)).toBe('can-block');
    expect(await classifyProject(deps, 3)).toBe('cannot-block');
    expect(classified.get(3)).toEqual({ canBlock: false, at: NOW });
  });

  it('counts a group-level protected environment of any ancestor, reading each group once per cycle', async () => {
    project(1, 'acme/ops/one');
    project(2, 'acme/ops/two');
    groups.set('acme/ops', true);
    expect(await classifyProject(deps, 1)).toBe('can-block');
    expect(await classifyProject(deps, 2)).toBe('can-block');
    expect(groupReads).toEqual(['acme', 'acme/ops']);
  });

  it('counts a group whose protected environments the token may not read, and says so', async () => {
    project(1, 'locked/one');
    groups.set('locked', 'unknown');
    expect(await classifyProject(deps, 1)).toBe('can-block');
    expect((deps.logger as CapturingLogger).lines.find((l) => l.level === 'warn')).toMatchObject({ group: 'locked' });
  });

  it('forgets a project GitLab no longer shows', async () => {
    own.set(5, 'gone');
    expect(await classifyProject(deps, 5)).toBe('gone');
    expect(forgotten).toEqual([5]);
  });

  it('does not read again what was classified within the given time', async () => {
    classified.set(7, { canBlock: true, at: NOW - 1_000 });
    own.set(7, false);
    expect(await classifyProject(deps, 7, { unlessClassifiedWithinMs: 60_000 })).toBe('can-block');
    expect(await classifyProject(deps, 7, { unlessClassifiedWithinMs: 500 })).toBe('cannot-block');
  });
});
