import { z } from 'zod';
import type { IntakeEvent } from '../../core/intake/intake-event.ts';

/**
 * GitLab webhook bodies, naming only what greenlight uses, normalised into small job payloads.
 * Nothing here is trusted for decisions: the worker re-reads GitLab.
 *
 * Parse what matters, tolerate the rest: GitLab never re-sends a refused delivery and disables a hook after a few
 * failures in a row, so a delivery is refused only when the part greenlight needs (which project) is unusable. A
 * malformed part greenlight could do without (one job of a pipeline, a job's environment, a timestamp in an
 * unknown format) is skipped and reported in `skipped`; the rest of the delivery is used.
 */
const Project = z.object({
  id: z.number().int().positive(),
  path_with_namespace: z.string().nullish(),
});
/** A job's `environment:` as GitLab expanded it; `name` is "" when it named an unset variable. */
const Environment = z.object({ name: z.string().min(1, 'is empty') });

const DeploymentHook = z.object({
  object_kind: z.literal('deployment'),
  status: z.string().min(1),
  status_changed_at: z.unknown().optional(),
  /** absent before GitLab 13.x named it (lib/gitlab/data_builder/deployment.rb) */
  deployment_id: z.number().int().positive().nullish(),
  deployable_id: z.number().int().positive().nullish(),
  environment: z.string().nullish(),
  short_sha: z.string().nullish(),
  project: Project,
});

const PipelineHook = z.object({
  object_kind: z.literal('pipeline'),
  object_attributes: z.object({ status: z.string().nullish() }),
  project: Project,
  builds: z.unknown().optional(),
});
const Build = z.object({ status: z.string().nullish(), environment: z.unknown().optional() });

const JobHook = z.object({
  object_kind: z.literal('build'),
  build_status: z.string().nullish(),
  build_failure_reason: z.string().nullish(),
  project_id: z.number().int().positive(),
  project: z.object({ path_with_namespace: z.string().nullish() }).nullish(),
  environment: z.unknown().optional(),
});

export const HOOK_SCHEMAS = {
  'Deployment Hook': DeploymentHook,
  'Pipeline Hook': PipelineHook,
  'Job Hook': JobHook,
} as const;
export type HookName = keyof typeof HOOK_SCHEMAS;

export function isHandledHook(name: string | undefined): name is HookName {
  return name !== undefined && Object.hasOwn(HOOK_SCHEMAS, name);
}

const RUBY_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.\d+)? (?:([+-]\d{2})(\d{2})|UTC)$/;

/**
 * GitLab sends "2021-04-28 21:50:00 +0200" (Ruby Time#to_s) for lifecycle events, "2026-05-08 10:30:00 UTC" from
 * some versions, and ISO 8601 for approvals.
 */
export function parseGitLabTime(text: unknown): number | null {
  if (typeof text !== 'string' || text.trim() === '') return null;
  const m = RUBY_TIME.exec(text.trim());
  if (m) {
    const parsed = Date.parse(`${m[1]}T${m[2]}${m[3] === undefined ? 'Z' : `${m[3]}:${m[4]}`}`);
    return Number.isFinite(parsed) ? parsed : null;
  }
  const iso = /^\d{4}-\d{2}-\d{2}T/.test(text.trim()) ? Date.parse(text) : NaN;
  return Number.isFinite(iso) ? iso : null;
}

export type ParseResult = { ok: true; event: IntakeEvent; skipped?: string[] } | { ok: false; reason: string };

/** At most this many skipped parts are named (a pipeline can have hundreds of jobs); the rest are counted. */
const MAX_SKIPPED_NAMED = 5;

function describeIssue(error: z.ZodError, prefix: string): string {
  const issue = error.issues[0]!;
  const at = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || 'body';
  return `${at}: ${issue.message}`;
}

/** A job's environment name, or why it is unusable (undefined: the job has no environment). */
function environmentOf(value: unknown, at: string): { name: string } | { skipped: string } | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = Environment.safeParse(value);
  return parsed.success ? { name: parsed.data.name } : { skipped: describeIssue(parsed.error, at) };
}

function pipelineEnvironments(builds: unknown): { environments: string[]; skipped: string[] } {
  const skipped: string[] = [];
  if (builds === undefined || builds === null) return { environments: [], skipped };
  if (!Array.isArray(builds)) return { environments: [], skipped: ['builds: not a list'] };
  const environments = new Set<string>();
  builds.forEach((raw, i) => {
    const build = Build.safeParse(raw);
    if (!build.success) {
      skipped.push(describeIssue(build.error, `builds.${i}`));
      return;
    }
    const environment = environmentOf(build.data.environment, `builds.${i}.environment`);
    if (environment && 'skipped' in environment) skipped.push(environment.skipped);
    else if (environment && build.data.status === 'manual') environments.add(environment.name);
  });
  return { environments: [...environments], skipped };
}

function bounded(skipped: string[]): string[] | undefined {
  if (skipped.length === 0) return undefined;
  if (skipped.length <= MAX_SKIPPED_NAMED) return skipped;
  return [...skipped.slice(0, MAX_SKIPPED_NAMED), `and ${skipped.length - MAX_SKIPPED_NAMED} more`];
}

export function parseHook(name: HookName, body: unknown): ParseResult {
  const result = HOOK_SCHEMAS[name].safeParse(body);
  if (!result.success) return { ok: false, reason: `${name} payload: ${describeIssue(result.error, '')}` };
  const hook = result.data;
  const skipped: string[] = [];
  let event: IntakeEvent;
  switch (hook.object_kind) {
    case 'deployment': {
      const statusChangedAt = parseGitLabTime(hook.status_changed_at);
      if (statusChangedAt === null && hook.status_changed_at !== undefined && hook.status_changed_at !== null)
        skipped.push('status_changed_at: not a time GitLab is known to send');
      event = {
        kind: 'deployment',
        projectId: hook.project.id,
        projectPath: hook.project.path_with_namespace ?? '',
        deploymentId: hook.deployment_id ?? null,
        status: hook.status,
        statusChangedAt,
        environment: hook.environment ?? '',
        ...((hook.deployment_id ?? null) === null && {
          lookup: { deployableId: hook.deployable_id ?? null, shortSha: hook.short_sha ?? null },
        }),
      };
      break;
    }
    case 'pipeline': {
      const found = pipelineEnvironments(hook.builds);
      skipped.push(...found.skipped);
      event = {
        kind: 'pipeline',
        projectId: hook.project.id,
        projectPath: hook.project.path_with_namespace ?? '',
        status: hook.object_attributes.status ?? '',
        environments: found.environments,
      };
      break;
    }
    case 'build': {
      const environment = environmentOf(hook.environment, 'environment');
      if (environment && 'skipped' in environment) skipped.push(environment.skipped);
      event = {
        kind: 'job',
        projectId: hook.project_id,
        status: hook.build_status ?? '',
        environment: environment && 'name' in environment ? environment.name : null,
        failureReason: hook.build_failure_reason ?? null,
      };
      break;
    }
  }
  const named = bounded(skipped);
  return named ? { ok: true, event, skipped: named } : { ok: true, event };
}
