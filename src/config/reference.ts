import type { z } from 'zod';
import { formatDuration } from './duration.ts';
import { envVars } from './env-schema.ts';
import { policyFileSchema } from './policy-schema.ts';

/**
 * The configuration reference (docs/configuration.md), generated from the zod schemas so that it
 * cannot drift from what loadConfig accepts. `npm run docs:config` rewrites the file; a test checks it.
 */
type AnySchema = z.ZodType & { def: Record<string, unknown> & { type: string }; description?: string };

function unwrap(schema: AnySchema): {
  inner: AnySchema;
  description: string | undefined;
  defaultValue: unknown;
  optional: boolean;
} {
  let current = schema;
  let description = schema.description;
  let defaultValue: unknown;
  let optional = false;
  for (let i = 0; i < 10; i += 1) {
    const def = current.def;
    if (def.type === 'default') {
      defaultValue = def.defaultValue;
      optional = true;
      current = def.innerType as AnySchema;
    } else if (def.type === 'optional') {
      optional = true;
      current = def.innerType as AnySchema;
    } else if (def.type === 'pipe') {
      current = def.in as AnySchema;
    } else break;
    description ??= current.description;
  }
  return { inner: current, description, defaultValue, optional };
}

function objectShape(schema: AnySchema): Record<string, AnySchema> | null {
  if (schema.def.type === 'object') return schema.def.shape as Record<string, AnySchema>;
  if (schema.def.type === 'union') {
    for (const option of schema.def.options as AnySchema[]) {
      const shape = objectShape(unwrap(option).inner);
      if (shape) return shape;
    }
  }
  if (schema.def.type === 'array') return objectShape(unwrap(schema.def.element as AnySchema).inner);
  return null;
}

function show(value: unknown): string {
  if (value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value))) return '';
  if (typeof value === 'number' && value >= 1000 && value % 1000 === 0) return `\`${formatDuration(value)}\``;
  return `\`${JSON.stringify(value)}\``;
}

function policyRows(shape: Record<string, AnySchema>, path: string, rows: string[]): void {
  for (const [key, field] of Object.entries(shape)) {
    const { inner, description, defaultValue } = unwrap(field);
    const isArray = inner.def.type === 'array';
    const name = `${path}${key}${isArray ? '[]' : ''}`;
    rows.push(`| \`${name}\` | ${show(defaultValue)} | ${(description ?? '').replace(/\|/g, '\\|')} |`);
    const nested = objectShape(inner);
    if (nested) policyRows(nested, `${name}.`, rows);
  }
}

export function renderConfigReference(): string {
  const env = Object.entries(envVars).map(([name, schema]) => {
    const { defaultValue, optional } = unwrap(schema as unknown as AnySchema);
    const required = optional ? (defaultValue === undefined ? 'no' : 'no') : 'yes';
    return (
      `| \`${name}\` | ${defaultValue === undefined ? '—' : `\`${String(defaultValue)}\``} ` +
      `| ${required} | ${(schema.description ?? '').replace(/\|/g, '\\|')} |`
    );
  });
  const policy: string[] = [];
  policyRows(policyFileSchema.shape as unknown as Record<string, AnySchema>, '', policy);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/env-schema.ts and src/config/policy-schema.ts ' +
      'by `npm run docs:config`. Do not edit by hand. -->',
    '',
    'greenlight reads its environment and the optional policy file once, at start. Every ' +
      'problem is reported at once, with what to do, and the process exits with status 78.',
    'Empty variables count as unset.',
    '',
    '## Environment',
    '',
    '| variable | default | required | meaning |',
    '|---|---|---|---|',
    ...env,
    '',
    'Conditional requirements: in `oauth` mode `GITLAB_OAUTH_CLIENT_ID`, ' +
      '`GITLAB_OAUTH_CLIENT_SECRET`, `TOKEN_ENCRYPTION_KEY` and `PUBLIC_URL` are required; ' +
      '`SLACK_SIGNING_SECRET` is required unless `SLACK_APP_TOKEN` is set; a ' +
      'default channel (`SLACK_CHANNEL` or `channel` in the policy file) is required.',
    '',
    '## Policy file (`CONFIG_FILE`)',
    '',
    'YAML. Durations are written `500ms`, `10s`, `30m`, `2h`, `1d` (or ' +
      'combined, `1h30m`). Unknown keys are errors, so typos do not go unnoticed.',
    '',
    '| key | default | meaning |',
    '|---|---|---|',
    ...policy,
    '',
    'Reminders default to `{ after: 30m, every: 1h, max: 3 }` when the ' +
      'file does not set them; `run_after_approval` defaults to `button`, `changes` to `on`.',
    'How reminders, escalation levels, working hours and "Snooze 1h" behave: [reminders.md](reminders.md).',
    '',
    'Every duration has bounds (`sweep.every` 1s to 1d, `sweep.list_every` 1s to 7d, `sweep.classify_every` ' +
      '1s to 30d; reminders and escalation at most 30d; ' +
      '`WORKER_STALL_TIMEOUT` 1s to 1h): a value out of them stops greenlight at start, before it listens, ' +
      'with the other configuration problems.',
    '',
    '### Route globs',
    '',
    '`match.project` and `match.environment` are globs: `*` matches any characters within one path segment ' +
      '(not `/`), `?` one such character, `[abc]` one of these characters, and `**` as a whole segment any ' +
      'number of segments (`acme/**`, `acme/**/web`); everything else is literal (no braces, extglobs, ' +
      'negation or comments). `**` inside a segment (`acme/**web`) is refused at start: it used to cross ' +
      'segments there. Globs are matched by [minimatch](https://www.npmjs.com/package/minimatch) 11, whose ' +
      'matcher takes time linear in the length of the name for a given pattern (a Thompson NFA per path ' +
      'segment, each `**` position tried once) instead of a backtracking regular expression, which a glob ' +
      'like `*a*a*a*a*b` turns into a freeze; a glob is at most 500 characters.',
    '',
    '### Example',
    '',
    '```yaml',
    'channel: C0DEPLOYS                  # default channel for cards',
    'projects: [acme/web, 42]            # swept for blocked deployments, besides projects seen in webhooks',
    'groups: [acme]                      # every project of these groups is swept',
    'sweep: { every: 5m, list_every: 1h, classify_every: 1d }   # scans, listing of groups, protected envs',
    'reminders: { after: 30m, every: 1h, max: 3 }      # thread replies that mention who can still approve',
    'escalation:                          # levels, in order',
    '  - { after: 2h, channel: C0ONCALL, mention: ["<!subteam^S0ONCALL>"] }',
    'working_hours: { days: Mon-Fri, from: "09:00", to: "18:00", timezone: Europe/Berlin }',
    'run_after_approval: button           # off | button: offer "Run deployment" once fully approved',
    'changes: on                          # on | off: what the deployment changes (commits, MRs, pipeline, freeze)',
    'four_eyes: { forbid_commit_author: false }        # also forbid the author of the deployed commit',
    'users:                               # explicit Slack -> GitLab mapping (sudo mode, and overrides)',
    '  - { slack: U0456ALICE, gitlab: alice }',
    'routes:                              # first match wins; unset fields inherit the top level',
    '  - match: { project: "acme/payments/*", environment: "prod*", tier: production }',
    '    channel: C0PAYMENTS',
    '    reminders: { after: 10m, every: 30m, max: 5 }',
    '  - match: { project: "acme/monorepo" }',
    '    changes: off                     # a heavy repository: no commit and merge request reads',
    '```',
    '',
  ].join('\n');
}
