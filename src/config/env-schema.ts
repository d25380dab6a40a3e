import { z } from 'zod';
import { isIP } from 'node:net';
import { parseDuration } from './duration.ts';

/**
 * Every environment variable greenlight reads, with its default and what to do when it is wrong.
 * docs/configuration.md is generated from this schema (npm run docs:config), so keep descriptions exact.
 */
const url = (what: string) =>
  z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), {
    message: `must be an http(s) URL of ${what}`,
  });

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

/** example.com, .org and .net are reserved for documentation (RFC 2606): such a URL is a placeholder left over. */
const isPlaceholderHost = (value: string) =>
  URL.canParse(value) && /(^|\.)example\.(com|org|net)$/i.test(new URL(value).hostname);

/** One Redis URL with its scheme; `localhost:6379` would be taken for a path and fail only at the first connect. */
const redisUrlProblem = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .find((part) => !/^rediss?:\/\/[^/\s]/.test(part));

/** A rate in requests a minute; 0 turns the limit off. */
const perMinute = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a whole number of requests a minute (0 = off)' })
    .int('must be a whole number of requests a minute (0 = off)')
    .min(0, 'must be 0 (off) or more requests a minute')
    .max(1_000_000)
    .default(fallback);

export const envVars = {
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port of the web role.'),
  PUBLIC_URL: url('greenlight as GitLab and browsers reach it')
    .refine((v) => !isPlaceholderHost(v), {
      message: 'is the placeholder from .env.example; set the URL where GitLab and browsers reach greenlight',
    })
    .optional()
    .describe(
      'Base URL where GitLab and browsers reach greenlight (https://..., the address of your reverse proxy). ' +
        'Required in oauth mode (the OAuth redirect is PUBLIC_URL/oauth/gitlab/callback).',
    ),
  REDIS_URL: z
    .string()
    .refine((v) => redisUrlProblem(v) === undefined, {
      message: 'must start with redis:// or rediss:// (e.g. redis://127.0.0.1:6379)',
    })
    .default('redis://127.0.0.1:6379')
    .describe(
      'Redis connection URL (redis:// or rediss://). Use noeviction and ' +
        'persistence (AOF) in production. With REDIS_MODE=cluster: one or more ' +
        'seed nodes separated by commas (credentials and TLS from the first).',
    ),
  REDIS_MODE: z
    .enum(['standalone', 'cluster'])
    .default('standalone')
    .describe(
      'standalone = one Redis (or a primary behind a failover endpoint); ' +
        'cluster = Redis Cluster (also managed "cluster mode" services): ' +
        'REDIS_URL names seed nodes and the client follows the cluster topology.',
    ),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only')
    .default('greenlight')
    .describe(
      'Prefix of every Redis key and queue. Keys are written as {PREFIX}:... so they share one Redis Cluster slot.',
    ),
  GITLAB_URL: url('GitLab').default('https://gitlab.com').describe('GitLab base URL (no /api/v4).'),
  GITLAB_TOKEN: z
    .string()
    .min(1)
    .describe(
      "greenlight's own GitLab token for reading (scope read_api). In " +
        'sudo mode: an administrator token with the api and sudo scopes.',
    ),
  GITLAB_WEBHOOK_SECRET: z
    .string()
    .min(16, 'use at least 16 characters')
    .describe('Secret token configured on the GitLab webhooks; compared with the X-Gitlab-Token header.'),
  GITLAB_AUTH_MODE: z
    .enum(['oauth', 'sudo'])
    .default('oauth')
    .describe(
      'How decisions are recorded as the clicking person: oauth (each user links their GitLab account; works ' +
        'on GitLab.com) or sudo (self-managed; GITLAB_TOKEN is an admin token and acts with the Sudo header).',
    ),
  GITLAB_OAUTH_CLIENT_ID: z
    .string()
    .min(1)
    .optional()
    .describe('Application ID of the GitLab OAuth application (scopes api, read_user). Required in oauth mode.'),
  GITLAB_OAUTH_CLIENT_SECRET: z
    .string()
    .min(1)
    .optional()
    .describe('Secret of the GitLab OAuth application. Required in oauth mode.'),
  GITLAB_RATE_LIMIT: perMinute(1800).describe(
    'GitLab requests a minute per token, shared by every queue and replica (a budget in Redis; GitLab.com allows ' +
      '2,000 per user: the default leaves headroom). Interactive work (clicks, commands) goes first, the sweep only ' +
      'while a reserve remains. 0 = no budget (self-managed GitLab without rate limits); a 429 still pauses everyone.',
  ),
  GITLAB_PROJECT_RATE_LIMIT: perMinute(360).describe(
    'GET /projects/:id requests a minute per token, within GITLAB_RATE_LIMIT (GitLab.com allows 400). 0 = no limit.',
  ),
  GITLAB_SWEEP_RATE_LIMIT: perMinute(600).describe(
    "GitLab requests a minute the sweep may use (its scans and re-reads), within GITLAB_RATE_LIMIT: a sweep's " +
      'requests are spread out at this pace instead of bursting. 0 = only GITLAB_RATE_LIMIT applies. A sweep whose ' +
      'work does not fit within 80 % of its interval at this pace logs a warning (e.g. 50,000 projects of which ' +
      '2,500 can block, 1,000 open cards: about 4,000 requests a sweep; raise this to 1,000 or sweep.every to 10m).',
  ),
  TOKEN_ENCRYPTION_KEY: z
    .string()
    .optional()
    .describe(
      '32 random bytes, base64 (openssl rand -base64 32); encrypts stored user tokens (AES-256-GCM). ' +
        'Required in oauth mode. To rotate, put the new key first and keep old ones after a comma: NEW,OLD.',
    ),
  SLACK_BOT_TOKEN: z
    .string()
    .startsWith('xoxb-', 'must be a bot token (xoxb-...)')
    .refine((v) => v !== 'xoxb-', {
      message:
        'is only the beginning of a bot token (the .env.example placeholder?): copy the whole Bot User OAuth ' +
        'Token from the Slack app (OAuth & Permissions)',
    })
    .describe('Slack bot token (xoxb-...).'),
  SLACK_SIGNING_SECRET: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Slack signing secret (Basic Information page of the app). Required unless SLACK_APP_TOKEN (Socket Mode) is set.',
    ),
  SLACK_APP_TOKEN: z
    .string()
    .startsWith('xapp-', 'must be an app-level token (xapp-...)')
    .optional()
    .describe(
      'App-level token with connections:write. When set, Slack ' +
        'traffic uses Socket Mode and no public Slack endpoint is needed.',
    ),
  SLACK_CLIENT_ID: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Client ID of the Slack app (Basic Information > App Credentials), for Sign in with Slack while a person ' +
        'links their GitLab account: the browser that links proves it is the Slack user who asked. ' +
        'Required in oauth mode.',
    ),
  SLACK_CLIENT_SECRET: z
    .string()
    .min(1)
    .optional()
    .describe('Client Secret of the Slack app (Basic Information > App Credentials). Required in oauth mode.'),
  SLACK_API_URL: url('the Slack Web API')
    .default('https://slack.com/api/')
    .describe('Slack Web API base URL (change only for proxies and tests).'),
  SLACK_CHANNEL: z
    .string()
    .regex(
      /^[CGD][A-Z0-9]+$/,
      'must be a channel ID like C0123ABCD, not a #name (channel details > About, at the bottom)',
    )
    .optional()
    .describe('Default channel for cards (a channel ID). Or set `channel` in CONFIG_FILE.'),
  SLACK_COMMAND: z
    .string()
    .regex(/^\/[a-z0-9_-]{1,31}$/, 'must look like /deploys')
    .default('/deploys')
    .describe('The slash command, as created in the Slack app.'),
  TRUSTED_PROXIES: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const list = (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const entry of list) {
        if (!isAddressOrCidr(entry)) {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR (10.0.0.0/8, ::1)` });
          return z.NEVER;
        }
      }
      return list;
    })
    .describe(
      'Addresses or CIDRs of the reverse proxies in front of greenlight (comma-separated, e.g. 10.0.0.0/8), ' +
        'whose X-Forwarded-For is believed. Unset: nobody is believed and the socket address counts ' +
        '(per-address limits, logs).',
    ),
  CONFIG_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('Path of the YAML policy file (routes, reminders, escalation, users...).'),
  ROLE: z
    .enum(['all', 'web', 'worker'])
    .default('all')
    .describe(
      'all = web and worker in one process; web = HTTP only; ' +
        'worker = queues only. Any number of each may share one Redis.',
    ),
  REPLICA_ID: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
      'must be letters, digits, ".", "_" or "-" (at most 100), e.g. the pod name',
    )
    .optional()
    .describe(
      "This replica's name, the same across its restarts (the Helm chart sets the pod name; default: HOSTNAME). " +
        'A restarted worker resumes the jobs and webhook events it left unfinished at once instead of after ' +
        'WORKER_STALL_TIMEOUT. Two live processes never share one: the second waits a few seconds, then runs ' +
        'under a name of its own. Unset with no HOSTNAME: a new name at every start.',
    ),
  WORKER_STALL_TIMEOUT: z
    .string()
    .default('15s')
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null || ms < 1_000 || ms > 3_600_000) {
        ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration from 1s to 1h; write 15s or 1m` });
        return z.NEVER;
      }
      return ms;
    })
    .describe(
      'When a worker dies mid-job (crash, SIGKILL, lost host), its jobs are taken over by another ' +
        'worker, or by itself after a restart, once this much time has passed without its ' +
        'heartbeat. Webhook events it had read, or that failed, are taken over after this long too (1s to 1h).',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  GREENLIGHT_SETUP: z
    .enum(['on', 'off'])
    .default('off')
    .describe(
      'on: when the configuration is missing or does not work, serve the setup page (PORT/setup, behind a ' +
        'one-time code printed on the console) instead of exiting. ./run start sets it; containers leave it off.',
    ),
} as const;

export const envSchema = z.object(envVars);
export type EnvInput = z.infer<typeof envSchema>;
