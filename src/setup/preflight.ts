import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Config } from '../config/load.ts';
import { createRedis } from '../adapters/redis/connection.ts';
import { gitlabApi, slackApi } from '../cli/http.ts';

/**
 * Start-up checks beyond the shape of the settings: do GitLab and Slack accept the tokens, and does REDIS_URL
 * make sense where greenlight runs. A token that is refused is a configuration problem named by its
 * variable (greenlight would otherwise start and fail later: Bolt with a bare "invalid_auth", GitLab at the
 * first webhook). Anything that may pass by itself (a network error, a 5xx) is only a warning: greenlight
 * retries those while it runs.
 */
export type PreflightResult = { problems: string[]; warnings: string[] };

export type PreflightDeps = {
  /** whether this process runs in a container (Docker, Kubernetes, Podman) */
  inContainer?: () => boolean;
  timeoutMs?: number;
};

/** Slack's answers that mean the token itself is wrong, not that Slack is unwell. */
const REFUSED = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
]);

const SlackOk = z.object({ ok: z.boolean(), error: z.string().optional(), team: z.string().optional() });
const Version = z.object({ version: z.string() });

export async function preflight(config: Config, deps: PreflightDeps = {}): Promise<PreflightResult> {
  const results = await Promise.all([
    checkGitLabToken(config),
    checkSlackTokens(config),
    checkRedisPlace(config, deps.inContainer ?? runsInContainer, deps.timeoutMs ?? 2_000),
  ]);
  return {
    problems: results.flatMap((r) => r.problems),
    warnings: results.flatMap((r) => r.warnings),
  };
}

async function checkGitLabToken(config: Config): Promise<PreflightResult> {
  const { url, token, authMode } = config.gitlab;
  const answer = await gitlabApi(url, token).get('version', Version);
  if (answer.ok) return { problems: [], warnings: [] };
  const newToken =
    authMode === 'sudo'
      ? 'create an administrator token with the scopes api and sudo'
      : 'create a token with the scope read_api (User settings > Access tokens)';
  if (answer.status === 401)
    return {
      problems: [
        `GITLAB_TOKEN: GitLab at ${url} refuses it (401: ${answer.message}); it is wrong, expired or revoked: ` +
          `${newToken} and set GITLAB_TOKEN.`,
      ],
      warnings: [],
    };
  if (answer.status === 403)
    return {
      problems: [`GITLAB_TOKEN: GitLab at ${url} answers 403 (${answer.message}): ${newToken} and set GITLAB_TOKEN.`],
      warnings: [],
    };
  if (answer.status === 404)
    return {
      problems: [
        `GITLAB_URL: ${url}/api/v4/version answers 404: this is not a GitLab's base URL ` +
          '(write it without /api/v4, e.g. https://gitlab.example.org).',
      ],
      warnings: [],
    };
  return { problems: [], warnings: [`GitLab at ${url} could not check GITLAB_TOKEN yet (${answer.message})`] };
}

async function checkSlackTokens(config: Config): Promise<PreflightResult> {
  const { apiUrl, botToken, appToken } = config.slack;
  const out: PreflightResult = { problems: [], warnings: [] };
  const checks: Array<[name: string, method: string, token: string, fix: string]> = [
    [
      'SLACK_BOT_TOKEN',
      'auth.test',
      botToken,
      'copy the Bot User OAuth Token (xoxb-...) from the Slack app (OAuth & Permissions); ' +
        'if the app was uninstalled or re-created, install it again',
    ],
  ];
  if (appToken)
    checks.push([
      'SLACK_APP_TOKEN',
      'apps.connections.open',
      appToken,
      'create an app-level token with connections:write (Basic Information > App-Level Tokens) ' +
        'and switch Socket Mode on',
    ]);
  await Promise.all(
    checks.map(async ([name, method, token, fix]) => {
      const answer = await slackApi(apiUrl, token)(method, {}, SlackOk);
      if (!answer.ok) out.warnings.push(`Slack could not check ${name} yet (${answer.message})`);
      else if (!answer.data.ok && REFUSED.has(answer.data.error ?? ''))
        out.problems.push(`${name}: Slack refuses it (${answer.data.error}): ${fix}.`);
      else if (!answer.data.ok) out.warnings.push(`Slack answered ${method} with ${answer.data.error} for ${name}`);
    }),
  );
  return out;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

/**
 * In a container 127.0.0.1 is the container itself: `docker run --env-file .env` with the REDIS_URL that
 * suits `./run start` reaches no Redis. Refused only when nothing answers there (a Redis sidecar in the same
 * pod does answer on 127.0.0.1).
 */
async function checkRedisPlace(
  config: Config,
  inContainer: () => boolean,
  timeoutMs: number,
): Promise<PreflightResult> {
  const first = config.redisUrl.split(',')[0]!.trim();
  const host = URL.canParse(first) ? new URL(first).hostname : '';
  if (!LOOPBACK.test(host) || !inContainer()) return { problems: [], warnings: [] };
  if (await redisAnswers(config, timeoutMs)) return { problems: [], warnings: [] };
  return {
    problems: [
      `REDIS_URL: ${host} inside a container is the container itself, and no Redis answers there. Point ` +
        'REDIS_URL at your Redis: with docker compose up it is redis://redis:6379 (docker-compose.yml sets it); ' +
        'with docker run, Redis on the host is -e REDIS_URL=redis://host.docker.internal:6379 ' +
        '--add-host=host.docker.internal:host-gateway.',
    ],
    warnings: [],
  };
}

async function redisAnswers(config: Config, timeoutMs: number): Promise<boolean> {
  const redis = createRedis({ url: config.redisUrl, mode: config.redisMode }, 'commands', {
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  redis.on('error', () => undefined); // the answer is the boolean
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Docker and Podman leave a marker file; Kubernetes sets its service variables; cgroups name the runtime. */
export function runsInContainer(): boolean {
  if (existsSync('/.dockerenv') || existsSync('/run/.containerenv')) return true;
  if (process.env.KUBERNETES_SERVICE_HOST) return true;
  try {
    return /docker|kubepods|containerd|libpod/.test(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    return false;
  }
}
