// Turns domain events into deliveries: filters by webhook mode (§9.1), picks the project's hooks and
// its ancestor groups' hooks that subscribed to the event kind.
import { groupChain } from '../access.ts';
import type { Ctx, DomainEvent } from '../context.ts';
import { lookup } from '../entities.ts';
import type { HookRec } from '../model.ts';
import type { Dispatcher } from './dispatcher.ts';
import { buildPayload, type HookEventName } from './payloads.ts';

/** legacy = GitLab < 19.3 (lifecycle deployment events only); modern = 19.3+ (+ blocked/approved/rejected). */
export type WebhookMode = 'legacy' | 'modern';

const MODERN_ONLY = new Set(['blocked', 'approved', 'rejected']);

function subscribed(hook: HookRec, event: HookEventName): boolean {
  if (event === 'Deployment Hook') return hook.deploymentEvents;
  if (event === 'Pipeline Hook') return hook.pipelineEvents;
  return hook.jobEvents;
}

export function hooksForProject(ctx: Ctx, projectId: number): HookRec[] {
  const project = lookup(ctx.state.projects, projectId, 'project');
  const groupIds = new Set(groupChain(ctx.state, project.groupId).map((g) => g.id));
  return [...ctx.state.hooks.values()].filter((hook) =>
    hook.container.kind === 'project' ? hook.container.projectId === projectId : groupIds.has(hook.container.groupId),
  );
}

export function publishEvent(
  ctx: Ctx,
  dispatcher: Dispatcher,
  mode: WebhookMode,
  event: DomainEvent,
  eventUuid: string,
): void {
  if (event.kind === 'deployment' && mode === 'legacy' && MODERN_ONLY.has(event.status)) return;
  const built = buildPayload(ctx, event);
  for (const hook of hooksForProject(ctx, built.projectId).filter((h) => subscribed(h, built.event))) {
    dispatcher.enqueue(hook, built.event, built.payload, eventUuid);
  }
}
