import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../config/load.ts';
import { envVars } from '../config/env-schema.ts';
import { readEnvFile, writeEnvFile } from '../config/env-file.ts';
import { gitlabApi } from '../cli/http.ts';
import { installHook, type Target } from '../cli/webhooks.ts';
import { WEBHOOK_PATH } from '../entrypoints/http/gitlab-webhook.ts';
import { joinChannel } from './slack-app.ts';
import type { Draft, SetupServerDeps } from './draft.ts';

/** Steps 3 to 6 as submitted together. */
export type FinishForm = {
  authMode: 'oauth' | 'sudo';
  oauthClientId: string;
  oauthClientSecret: string;
  channel: string;
  join: boolean;
  /** `project:<id>` / `group:<id>` from the list */
  hooks: string[];
  /** more paths typed by the person: `acme/web`, `group:acme` */
  moreHooks: string;
  /** a token with api for installing the webhooks only (not saved) */
  hookToken: string;
};

type Outcome =
  { ok: true; env: Record<string, string | undefined>; warnings: string[] } | { ok: false; errors: string[] };

/**
 * Checks steps 3 to 5, builds the settings (new secrets where none are set), makes sure greenlight would start
 * with them, then acts: adds the bot to the channel, installs the webhooks, and writes .env.
 */
export async function completeSetup(input: {
  draft: Draft;
  form: FinishForm;
  deps: SetupServerDeps;
}): Promise<Outcome> {
  const { draft, form, deps } = input;
  const check = draft.gitlab.check;
  const slack = draft.slack;
  if (!check?.ok || !draft.gitlab.token || !draft.gitlab.publicUrl || !slack)
    return { ok: false, errors: ['Steps 1 and 2 first: GitLab must check out and greenlight be installed in Slack.'] };
  const errors: string[] = [];
  if (form.authMode === 'sudo' && !(check.isAdmin && check.scopes.includes('sudo')))
    errors.push('sudo mode needs an administrator token with the api and sudo scopes (step 1).');
  if (form.authMode === 'oauth' && (!form.oauthClientId || !form.oauthClientSecret))
    errors.push('oauth mode: create the GitLab application (step 3) and paste its Application ID and Secret.');
  if (!/^[CG][A-Z0-9]+$/.test(form.channel)) errors.push('Choose the channel for approval cards (step 4).');
  if (errors.length > 0) return { ok: false, errors };

  const previous = { ...readEnvFile(deps.envFile), ...deps.env };
  const keep = (name: string, valid: (v: string) => boolean, make: () => string) => {
    const old = previous[name]?.trim();
    return old && valid(old) ? old : make();
  };
  const values: Record<string, string> = {
    PUBLIC_URL: draft.gitlab.publicUrl,
    GITLAB_URL: draft.gitlab.url,
    GITLAB_TOKEN: draft.gitlab.token,
    GITLAB_WEBHOOK_SECRET: keep(
      'GITLAB_WEBHOOK_SECRET',
      (v) => v.length >= 16,
      () => randomBytes(24).toString('hex'),
    ),
    GITLAB_AUTH_MODE: form.authMode,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_CHANNEL: form.channel,
  };
  if (form.authMode === 'oauth') {
    values.GITLAB_OAUTH_CLIENT_ID = form.oauthClientId;
    values.GITLAB_OAUTH_CLIENT_SECRET = form.oauthClientSecret;
    values.TOKEN_ENCRYPTION_KEY = keep(
      'TOKEN_ENCRYPTION_KEY',
      (v) => Buffer.from(v.split(',')[0]!, 'base64').length === 32,
      () => randomBytes(32).toString('base64'),
    );
  }
  if (slack.signingSecret) values.SLACK_SIGNING_SECRET = slack.signingSecret;
  if (slack.appToken) values.SLACK_APP_TOKEN = slack.appToken;
  // The created app's OAuth credentials, for the settings that use them (Sign in with Slack while linking).
  if (slack.clientId && Object.hasOwn(envVars, 'SLACK_CLIENT_ID')) values.SLACK_CLIENT_ID = slack.clientId;
  if (slack.clientSecret && Object.hasOwn(envVars, 'SLACK_CLIENT_SECRET'))
    values.SLACK_CLIENT_SECRET = slack.clientSecret;
  if (deps.env.SLACK_API_URL?.trim()) values.SLACK_API_URL = deps.env.SLACK_API_URL.trim();

  const env: Record<string, string | undefined> = { ...deps.env, ...values };
  delete env.GREENLIGHT_SETUP; // configured now: a later failure must not bring the page back unasked
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, errors: [...error.problems] };
    throw error;
  }

  const warnings: string[] = [];
  if (form.join) {
    const channel = draft.channels?.find((c) => c.id === form.channel);
    if (channel?.isPrivate && !channel.botIsMember)
      warnings.push(`#${channel.name} is private: type /invite @greenlight in it, or cards cannot be posted there.`);
    else if (!channel?.botIsMember) {
      const failed = await joinChannel(deps.slackApiUrl, slack.botToken, form.channel);
      if (failed) warnings.push(`greenlight could not join the channel (${failed}): type /invite @greenlight in it.`);
    }
  }
  warnings.push(...(await installHooks(values, form, draft)));
  // Settings that the process environment sets win over .env at the next start: say which.
  const fromEnvironment = Object.keys(values).filter(
    (name) =>
      deps.env[name] !== undefined &&
      deps.env[name] !== values[name] &&
      readEnvFile(deps.envFile)[name] !== deps.env[name],
  );
  if (fromEnvironment.length > 0)
    warnings.push(
      `${fromEnvironment.join(', ')} ${fromEnvironment.length > 1 ? 'are' : 'is'} also set in greenlight's ` +
        'environment, ' +
        'which wins over .env at the next start: remove it there.',
    );
  writeEnvFile(deps.envFile, values, `written by the greenlight setup page on ${new Date().toISOString()}`);
  return { ok: true, env, warnings };
}

/** The webhook on every chosen project and group, with the CLI's own logic (create, or update in place). */
async function installHooks(values: Record<string, string>, form: FinishForm, draft: Draft): Promise<string[]> {
  const targets: Target[] = form.hooks.flatMap((value) => {
    const [kind, id] = value.split(':');
    return (kind === 'project' || kind === 'group') && id ? [{ kind, id }] : [];
  });
  for (const word of form.moreHooks.split(/[\s,]+/).filter(Boolean)) {
    if (word.startsWith('group:')) targets.push({ kind: 'group', id: word.slice('group:'.length) });
    else targets.push({ kind: 'project', id: word.replace(/^project:/, '') });
  }
  if (targets.length === 0)
    return ['No webhooks were installed: install them later with ./run cli webhooks install --project <path>.'];
  const token = form.hookToken || values.GITLAB_TOKEN!;
  const api = gitlabApi(draft.gitlab.url, token);
  const lines: string[] = [];
  const io = { env: {}, out: () => undefined, err: (text: string) => lines.push(text) };
  for (const target of targets)
    await installHook(
      api,
      target,
      { url: `${values.PUBLIC_URL}${WEBHOOK_PATH}`, token: values.GITLAB_WEBHOOK_SECRET! },
      io,
    );
  return lines.map((l) => `Webhook: ${l.replace(/\s+/g, ' ')}`);
}
