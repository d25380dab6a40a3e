import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parseDocument, YAMLError } from 'yaml';
import type { z } from 'zod';
import { envFileProblems } from './env-file.ts';
import { envSchema, envVars } from './env-schema.ts';
import { policyFileSchema, type PolicyFile } from './policy-schema.ts';
import type { Policy, Route, RoutePolicy } from '../core/policy.ts';

export type EncryptionKey = { id: string; key: Buffer };

export type Config = Readonly<{
  port: number;
  publicUrl: string | null;
  redisUrl: string;
  redisMode: 'standalone' | 'cluster';
  redisPrefix: string;
  role: 'all' | 'web' | 'worker';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** how long a dead worker's jobs stay locked before another worker takes them over */
  workerStallTimeoutMs: number;
  /** stable across restarts of this replica (REPLICA_ID, else HOSTNAME); null: a new identity per process */
  replicaId: string | null;
  gitlab: Readonly<{
    url: string;
    token: string;
    webhookSecret: string;
    authMode: 'oauth' | 'sudo';
    oauth: Readonly<{ clientId: string; clientSecret: string }> | null;
    /** requests a minute per token (0 = off): every request, GET /projects/:id, the sweep's share */
    limits: Readonly<{ perMinute: number; projectPerMinute: number; sweepPerMinute: number }>;
  }>;
  /** First key encrypts; all of them decrypt (key rotation). Empty in sudo mode. */
  encryptionKeys: readonly EncryptionKey[];
  slack: Readonly<{
    botToken: string;
    signingSecret: string | null;
    appToken: string | null;
    apiUrl: string;
    command: string;
    /** the Slack app's OAuth credentials, for Sign in with Slack while linking (oauth mode) */
    oauth: Readonly<{ clientId: string; clientSecret: string }> | null;
  }>;
  /** addresses and CIDRs whose X-Forwarded-For is believed; empty: the socket address counts */
  trustedProxies: readonly string[];
  configFile: string | null;
  policy: Policy;
}>;

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `greenlight cannot start: ${problems.length} configuration ` +
        `problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'See docs/configuration.md (or .env.example) for every setting.',
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type ReadFile = (path: string) => string;

/**
 * Reads environment and policy file once; reports every problem at once. `envFile`: the .env file the
 * environment was read from (npm start, the CLI), checked for values its parser drops (`NAME=#...`).
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
  opts: { envFile?: string } = {},
): Config {
  const problems: string[] = [];
  const fileProblems = opts.envFile ? envFileProblemsOf(opts.envFile, readFile) : [];
  const raw = withoutEmpty(env);
  const envResult = envSchema.safeParse(raw);
  if (!envResult.success) problems.push(...envResult.error.issues.map(describeEnvIssue));
  const policyFile = raw.CONFIG_FILE ? loadPolicyFile(raw.CONFIG_FILE, readFile, problems) : policyFileSchema.parse({});

  // Requirements that depend on other settings, checked on the raw values so that every problem shows at once.
  const need = (name: keyof typeof envVars, when: string) => {
    // the description's own "Required in ..." sentence would only repeat `when`
    const described = (envVars[name].description ?? '').replace(/\s*Required (in|unless) [^.]*\.\s*/g, ' ').trim();
    if (raw[name] === undefined) problems.push(`${name}: required ${when}. ${described}`);
  };
  if ((raw.GITLAB_AUTH_MODE ?? 'oauth') === 'oauth') {
    need('GITLAB_OAUTH_CLIENT_ID', 'in oauth mode');
    need('GITLAB_OAUTH_CLIENT_SECRET', 'in oauth mode');
    need('TOKEN_ENCRYPTION_KEY', 'in oauth mode');
    need('PUBLIC_URL', 'in oauth mode');
    need('SLACK_CLIENT_ID', 'in oauth mode');
    need('SLACK_CLIENT_SECRET', 'in oauth mode');
  }
  if (!raw.SLACK_APP_TOKEN) need('SLACK_SIGNING_SECRET', 'unless SLACK_APP_TOKEN (Socket Mode) is set');
  const encryptionKeys = raw.TOKEN_ENCRYPTION_KEY ? parseKeys(raw.TOKEN_ENCRYPTION_KEY, problems) : [];
  const defaultChannel =
    policyFile?.channel ?? (envResult.success ? envResult.data.SLACK_CHANNEL : raw.SLACK_CHANNEL) ?? null;
  if (defaultChannel === null && policyFile) {
    problems.push(
      'SLACK_CHANNEL: required, or set `channel` in CONFIG_FILE: cards that ' +
        'match no route need a default channel (a channel ID like C0123ABCD).',
    );
  }
  if (fileProblems.length > 0) {
    // "SLACK_CHANNEL: required" would only hide the real cause: the file's line is explained instead
    const explained = new Set(fileProblems.map((p) => p.slice(0, p.indexOf(':'))));
    const others = problems.filter((p) => !explained.has(p.slice(0, p.indexOf(':'))));
    throw new ConfigError([...fileProblems, ...others]);
  }
  if (!envResult.success || !policyFile || problems.length > 0) throw new ConfigError(problems);
  const e = envResult.data;

  return Object.freeze({
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ? e.PUBLIC_URL.replace(/\/+$/, '') : null,
    redisUrl: e.REDIS_URL,
    redisMode: e.REDIS_MODE,
    redisPrefix: e.REDIS_PREFIX,
    role: e.ROLE,
    logLevel: e.LOG_LEVEL,
    workerStallTimeoutMs: e.WORKER_STALL_TIMEOUT,
    replicaId: e.REPLICA_ID ?? stableHostname(env.HOSTNAME),
    gitlab: Object.freeze({
      url: e.GITLAB_URL.replace(/\/+$/, ''),
      token: e.GITLAB_TOKEN,
      webhookSecret: e.GITLAB_WEBHOOK_SECRET,
      authMode: e.GITLAB_AUTH_MODE,
      limits: Object.freeze({
        perMinute: e.GITLAB_RATE_LIMIT,
        projectPerMinute: e.GITLAB_PROJECT_RATE_LIMIT,
        sweepPerMinute: e.GITLAB_SWEEP_RATE_LIMIT,
      }),
      oauth:
        e.GITLAB_OAUTH_CLIENT_ID && e.GITLAB_OAUTH_CLIENT_SECRET
          ? Object.freeze({ clientId: e.GITLAB_OAUTH_CLIENT_ID, clientSecret: e.GITLAB_OAUTH_CLIENT_SECRET })
          : null,
    }),
    encryptionKeys,
    slack: Object.freeze({
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET ?? null,
      appToken: e.SLACK_APP_TOKEN ?? null,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      command: e.SLACK_COMMAND,
      oauth:
        e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET
          ? Object.freeze({ clientId: e.SLACK_CLIENT_ID, clientSecret: e.SLACK_CLIENT_SECRET })
          : null,
    }),
    trustedProxies: Object.freeze([...e.TRUSTED_PROXIES]),
    configFile: e.CONFIG_FILE ?? null,
    policy: toPolicy(policyFile, defaultChannel),
  });
}

function envFileProblemsOf(path: string, readFile: ReadFile): string[] {
  let text: string;
  try {
    text = readFile(path);
  } catch {
    return []; // no .env: nothing was read from it
  }
  return envFileProblems(text, path);
}

function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(envVars)) {
    const value = env[name]?.trim();
    if (value) out[name] = value;
  }
  return out;
}

function describeEnvIssue(issue: z.core.$ZodIssue): string {
  const name = String(issue.path[0] ?? '');
  const described = envVars[name as keyof typeof envVars]?.description ?? '';
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  return missing ? `${name}: required. ${described}` : `${name}: ${issue.message}. ${described}`;
}

function loadPolicyFile(path: string, readFile: ReadFile, problems: string[]): PolicyFile | null {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    problems.push(
      `CONFIG_FILE: cannot read ${path} ` +
        `(${(error as NodeJS.ErrnoException).code ?? 'error'}); check the path and permissions.`,
    );
    return null;
  }
  let raw: unknown;
  try {
    // Warnings (an unknown !tag, ...) are problems too: a policy file must mean exactly what it says.
    const doc = parseDocument(text, { logLevel: 'silent' });
    const issue = doc.errors[0] ?? doc.warnings[0];
    if (issue) throw issue;
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    const where = error instanceof YAMLError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    problems.push(`CONFIG_FILE: ${path} is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`);
    return null;
  }
  const result = policyFileSchema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of explainUnions(result.error.issues)) {
    const at = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
        : issue.message;
    problems.push(`CONFIG_FILE ${path}: ${at}: ${message}`);
  }
  return null;
}

/**
 * `off` or an object (reminders, working_hours): when the object was meant, report its own problems
 * ("days: name at least one day") instead of zod's "Invalid input" for the whole union.
 */
function explainUnions(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const meant = issue.errors.find((branch) =>
        branch.some((i) => i.path.length > 0 || (i.code !== 'invalid_value' && i.code !== 'invalid_type')),
      );
      if (meant) return explainUnions(meant, path);
    }
    return [{ ...issue, path }];
  });
}

function parseKeys(value: string, problems: string[]): EncryptionKey[] {
  const keys: EncryptionKey[] = [];
  for (const [index, part] of value
    .split(',')
    .map((p) => p.trim())
    .entries()) {
    const key = Buffer.from(part, 'base64');
    if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== part.replace(/=+$/, '')) {
      problems.push(
        `TOKEN_ENCRYPTION_KEY: key ${index + 1} is not 32 bytes of base64; create one with: openssl rand -base64 32`,
      );
      continue;
    }
    keys.push({ id: createHash('sha256').update(key).digest('hex').slice(0, 8), key });
  }
  return keys;
}

function toPolicy(file: PolicyFile, defaultChannel: string | null): Policy {
  const defaults: RoutePolicy = {
    channel: defaultChannel,
    reminders: file.reminders === undefined ? { afterMs: 30 * 60_000, everyMs: 3_600_000, max: 3 } : file.reminders,
    escalation: file.escalation ?? [],
    workingHours: file.working_hours ?? null,
    runAfterApproval: file.run_after_approval ?? 'button',
    changes: file.changes ?? 'on',
  };
  const routes: Route[] = file.routes.map((r) => ({
    match: {
      ...(r.match.project !== undefined && { project: r.match.project }),
      ...(r.match.environment !== undefined && { environment: r.match.environment }),
      ...(r.match.tier !== undefined && { tier: r.match.tier }),
    },
    overrides: {
      ...(r.channel !== undefined && { channel: r.channel }),
      ...(r.reminders !== undefined && { reminders: r.reminders }),
      ...(r.escalation !== undefined && { escalation: r.escalation }),
      ...(r.working_hours !== undefined && { workingHours: r.working_hours }),
      ...(r.run_after_approval !== undefined && { runAfterApproval: r.run_after_approval }),
      ...(r.changes !== undefined && { changes: r.changes }),
    },
  }));
  return {
    defaults,
    routes,
    projects: file.projects,
    groups: file.groups,
    sweepEveryMs: file.sweep.every,
    sweepListEveryMs: file.sweep.list_every,
    sweepClassifyEveryMs: file.sweep.classify_every,
    fourEyes: { forbidCommitAuthor: file.four_eyes.forbid_commit_author },
    users: file.users,
  };
}

/** HOSTNAME names the pod or container (Kubernetes, Docker); anything that would not make a REPLICA_ID is ignored. */
function stableHostname(hostname: string | undefined): string | null {
  const value = hostname?.trim();
  return value && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(value) ? value : null;
}
