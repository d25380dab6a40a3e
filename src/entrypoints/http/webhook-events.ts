import { z } from 'zod';

/**
 * GitLab webhook bodies, naming only what greenlight uses, normalised into small job payloads.
 * Nothing here is trusted for decisions: the worker re-reads GitLab.
 */
const Project = z.object({ id: z.number().int().positive(), path_with_namespace: z.string().min(1) });
const Environment = z.object({
  name: z.string().min(1),
  action: z.string().nullish(),
  deployment_tier: z.string().nullish(),
});

const DeploymentHook = z.object({
  object_kind: z.literal('deployment'),
  status: z.string().min(1),
  status_changed_at: z.string().nullish(),
  deployment_id: z.number().int().positive(),
  environment: z.string().min(1),
  environment_tier: z.string().nullish(),
  project: Project,
});

const PipelineHook = z.object({
  object_kind: z.literal('pipeline'),
  object_attributes: z.object({ id: z.number().int(), status: z.string().min(1) }),
  project: Project,
  builds: z.array(z.object({ status: z.string().nullish(), environment: Environment.nullish() })).nullish(),
});

const JobHook = z.object({
  object_kind: z.literal('build'),
  build_status: z.string().min(1),
  build_failure_reason: z.string().nullish(),
  project_id: z.number().int().positive(),
  project: z.object({ path_with_namespace: z.string().nullish() }).nullish(),
  environment: Environment.nullish(),
});

export type IntakeEvent =
  | {
      kind: 'deployment';
      projectId: number;
      projectPath: string;
      deploymentId: number;
      status: string;
      statusChangedAt: number | null;
      environment: string;
    }
  | { kind: 'pipeline'; projectId: number; projectPath: string; status: string; environments: string[] }
  | { kind: 'job'; projectId: number; status: string; environment: string | null; failureReason: string | null };

export const HOOK_SCHEMAS = {
  'Deployment Hook': DeploymentHook,
  'Pipeline Hook': PipelineHook,
  'Job Hook': JobHook,
} as const;
export type HookName = keyof typeof HOOK_SCHEMAS;

export function isHandledHook(name: string | undefined): name is HookName {
  return name !== undefined && Object.hasOwn(HOOK_SCHEMAS, name);
}

/** GitLab sends "2021-04-28 21:50:00 +0200" (Ruby Time#to_s) for lifecycle events and ISO 8601 for approvals. */
export function parseGitLabTime(text: string | null | undefined): number | null {
  if (!text) return null;
  const iso = Date.parse(text);
  if (Number.isFinite(iso)) return iso;
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const parsed = Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
  return Number.isFinite(parsed) ? parsed : null;
}

export type ParseResult = { ok: true; event: IntakeEvent } | { ok: false; reason: string };

export function parseHook(name: HookName, body: unknown): ParseResult {
  const result = HOOK_SCHEMAS[name].safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, reason: `${name} payload: ${issue.path.join('.') || 'body'}: ${issue.message}` };
  }
  const hook = result.data;
  switch (hook.object_kind) {
    case 'deployment':
      return {
        ok: true,
        event: {
          kind: 'deployment',
          projectId: hook.project.id,
          projectPath: hook.project.path_with_namespace,
          deploymentId: hook.deployment_id,
          status: hook.status,
          statusChangedAt: parseGitLabTime(hook.status_changed_at),
          environment: hook.environment,
        },
      };
    case 'pipeline': {
      const environments = (hook.builds ?? [])
        .filter((b) => b.status === 'manual' && b.environment?.name)
        .map((b) => b.environment!.name);
      return {
        ok: true,
        event: {
          kind: 'pipeline',
          projectId: hook.project.id,
          projectPath: hook.project.path_with_namespace,
          status: hook.object_attributes.status,
          environments: [...new Set(environments)],
        },
      };
    }
    case 'build':
      return {
        ok: true,
        event: {
          kind: 'job',
          projectId: hook.project_id,
          status: hook.build_status,
          environment: hook.environment?.name ?? null,
          failureReason: hook.build_failure_reason ?? null,
        },
      };
  }
}
