// Bulk builders for large worlds (the scale benchmark: tens of thousands of projects). addProject checks the
// new path against every project and walks the group paths, which is quadratic in the number of projects;
// these check the names once and then only append records.
import { groupFullPath } from './access.ts';
import type { Ctx } from './context.ts';
import { lookup } from './entities.ts';
import { nextId, type ProjectRec } from './model.ts';

export interface AddProjectsInput {
  /** The group every project goes into (directly, not a subgroup). */
  groupId: number;
  count: number;
  /** Project paths are `<prefix><i>` for i = 0..count-1 (default "project-"). */
  prefix?: string;
}

/** `count` projects in one group, as `addProject` would create them one by one (ids and creation order alike). */
export function addProjects(ctx: Ctx, input: AddProjectsInput): ProjectRec[] {
  const { state } = ctx;
  lookup(state.groups, input.groupId, 'group');
  if (!Number.isInteger(input.count) || input.count < 0) throw new Error(`addProjects: bad count ${input.count}`);
  const namespace = groupFullPath(state, input.groupId);
  const prefix = input.prefix ?? 'project-';
  const taken = new Set([...state.projects.values()].map((p) => p.pathWithNamespace.toLowerCase()));
  const created: ProjectRec[] = [];
  for (let i = 0; i < input.count; i += 1) {
    const path = `${prefix}${i}`;
    const pathWithNamespace = `${namespace}/${path}`;
    if (taken.has(pathWithNamespace.toLowerCase())) throw new Error(`addProjects: ${pathWithNamespace} exists`);
    let id = nextId(state, 'project');
    while (state.projects.has(id)) id = nextId(state, 'project');
    const project: ProjectRec = {
      id,
      name: path,
      path,
      pathWithNamespace,
      groupId: input.groupId,
      ownerUserId: null,
      defaultBranch: 'main',
      visibility: 'private',
      description: '',
      allowPipelineTriggerApproveDeployment: false,
      createdAt: ctx.clock.now(),
    };
    state.projects.set(id, project);
    created.push(project);
  }
  return created;
}
