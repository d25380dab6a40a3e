import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config/load.ts';
import { encodeId, gitlabApi, type ApiResult, type GitLabApi } from './http.ts';
import { EXIT, type CliCommand, type CliIo } from './io.ts';

const USAGE = `usage: greenlight webhooks install (--project <id|path> | --group <id|path>)... [--url <webhook URL>]

Creates the GitLab webhook greenlight needs, or updates it when one with the same URL exists (run it
again at any time: it never makes duplicates). URL: PUBLIC_URL/webhooks/gitlab unless --url; secret token:
GITLAB_WEBHOOK_SECRET; triggers: Deployment, Pipeline and Job events. Uses GITLAB_TOKEN, which needs the
api scope and the Maintainer role on the project (Owner on the group); for a one-off run with another token:
GITLAB_TOKEN=glpat-... greenlight webhooks install --group acme`;

/** What greenlight's webhook must look like (GitLab's hook API field names). */
export const HOOK_SETTINGS = {
  deployment_events: true,
  pipeline_events: true,
  job_events: true,
  push_events: false,
  enable_ssl_verification: true,
} as const;

const Hook = z.object({ id: z.number(), url: z.string() });

export type Target = { kind: 'project' | 'group'; id: string };

export const webhooksCommand: CliCommand = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub !== 'install') {
    (sub === undefined || sub === '--help' || sub === '-h' ? io.out : io.err)(USAGE);
    return sub === '--help' || sub === '-h' ? EXIT.ok : EXIT.usage;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      project: { type: 'string', multiple: true },
      group: { type: 'string', multiple: true },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  const targets: Target[] = [
    ...(values.project ?? []).map((id) => ({ kind: 'project' as const, id })),
    ...(values.group ?? []).map((id) => ({ kind: 'group' as const, id })),
  ];
  if (targets.length === 0) {
    io.err(`greenlight webhooks install: name at least one --project or --group\n\n${USAGE}`);
    return EXIT.usage;
  }
  let config;
  try {
    config = loadConfig(io.env, undefined, { envFile: io.envFile });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(error.message);
    return EXIT.config;
  }
  const hookUrl = values.url ?? (config.publicUrl ? `${config.publicUrl}/webhooks/gitlab` : null);
  if (!hookUrl || !/^https?:\/\//.test(hookUrl)) {
    io.err(
      'greenlight webhooks install: set PUBLIC_URL (where GitLab ' +
        'reaches greenlight) or pass --url https://.../webhooks/gitlab',
    );
    return EXIT.usage;
  }
  const api = gitlabApi(config.gitlab.url, config.gitlab.token);
  let failed = 0;
  for (const target of targets) {
    const done = await installHook(api, target, { url: hookUrl, token: config.gitlab.webhookSecret }, io);
    if (!done) failed += 1;
  }
  return failed === 0 ? EXIT.ok : EXIT.failed;
};

/** Find greenlight's hook by URL (all pages), then update it or create it. */
export async function installHook(
  api: GitLabApi,
  target: Target,
  hook: { url: string; token: string },
  io: CliIo,
): Promise<boolean> {
  const base = `${target.kind === 'project' ? 'projects' : 'groups'}/${encodeId(target.id)}/hooks`;
  const name = `${target.kind} ${target.id}`;
  const existing: Array<z.infer<typeof Hook>> = [];
  for (let page = 1; ; page += 1) {
    const list = await api.get(`${base}?per_page=100&page=${page}`, z.array(Hook));
    if (!list.ok) return report(io, name, 'list its webhooks', list, target);
    existing.push(...list.data);
    if (!list.headers.get('x-next-page')) break;
  }
  const same = existing.filter((h) => sameUrl(h.url, hook.url));
  const body = { url: hook.url, token: hook.token, ...HOOK_SETTINGS };
  if (same[0]) {
    const updated = await api.send('PUT', `${base}/${same[0].id}`, body, Hook);
    if (!updated.ok) return report(io, name, `update webhook #${same[0].id}`, updated, target);
    io.out(
      `${name}: updated webhook #${updated.data.id} → ${hook.url} (secret token, Deployment, Pipeline and Job events)`,
    );
    if (same.length > 1)
      io.out(
        `${name}: note: webhooks ${same
          .slice(1)
          .map((h) => `#${h.id}`)
          .join(', ')} have the same URL; delete them in GitLab (Settings > Webhooks), or each event arrives twice`,
      );
    return true;
  }
  const created = await api.send('POST', base, body, Hook);
  if (!created.ok) return report(io, name, 'create a webhook', created, target);
  io.out(
    `${name}: created webhook #${created.data.id} → ${hook.url} (secret token, Deployment, Pipeline and Job events)`,
  );
  return true;
}

function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

function report(
  io: CliIo,
  name: string,
  what: string,
  result: Extract<ApiResult<unknown>, { ok: false }>,
  target: Target,
): false {
  const role = target.kind === 'project' ? 'Maintainer of the project' : 'Owner of the group';
  const fix =
    result.status === 401
      ? 'GITLAB_TOKEN is wrong, expired or revoked'
      : result.status === 403
        ? `the token needs the api scope and its user must be ${role} (run once with GITLAB_TOKEN=<such a token>)`
        : result.status === 404
          ? `no ${target.kind} "${target.id}" is visible to the token: check the ID or full path (e.g. acme/web)`
          : result.status === 422 || result.status === 400
            ? 'GitLab refused the settings; is the URL allowed? (self-managed: Admin > ' +
              'Settings > Network > Outbound requests, allow requests to the local network)'
            : 'check GITLAB_URL and that GitLab is up';
  io.err(`${name}: could not ${what}: ${result.status} ${result.message}\n  fix: ${fix}`);
  return false;
}
