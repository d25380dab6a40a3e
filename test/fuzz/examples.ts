import type { HookName } from '../../src/entrypoints/http/webhook-events.ts';

/** Real-looking inputs the fuzzers start from (then mutate). */
export const HOOK_EXAMPLES: Record<HookName, unknown> = {
  'Deployment Hook': {
    object_kind: 'deployment',
    status: 'blocked',
    status_changed_at: '2026-11-23 10:00:00 +0100',
    deployment_id: 15,
    environment: 'production',
    environment_tier: 'production',
    project: { id: 30, path_with_namespace: 'acme/web' },
  },
  'Pipeline Hook': {
    object_kind: 'pipeline',
    object_attributes: { id: 1, status: 'manual' },
    project: { id: 3, path_with_namespace: 'a/b' },
    builds: [{ status: 'manual', environment: { name: 'production', action: 'start' } }],
  },
  'Job Hook': {
    object_kind: 'build',
    build_status: 'manual',
    build_failure_reason: null,
    project_id: 3,
    project: { path_with_namespace: 'a/b' },
    environment: { name: 'production', action: 'start' },
  },
};

export const CLICK_EXAMPLE = {
  type: 'block_actions',
  user: { id: 'U0456ALICE', team_id: 'T0001ABCD' },
  team: { id: 'T0001ABCD' },
  channel: { id: 'C0123DEPLOY' },
  container: { type: 'message', channel_id: 'C0123DEPLOY', message_ts: '1759312345.000200', is_ephemeral: false },
  message: { ts: '1759312345.000200' },
  trigger_id: '123.456.abc',
  actions: [{ action_id: 'deploy_approve', value: '{"d":7,"p":1}' }],
};
