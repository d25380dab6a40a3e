import type { Finding } from '../cli/doctor/report.ts';
import { escapeHtml as e } from '../entrypoints/http/html-page.ts';
import type { GitLabCheck, HookTarget } from './gitlab-checks.ts';
import type { SlackChannel } from './slack-app.ts';

/**
 * The setup page: plain server-rendered HTML, one page with the six steps, every form a POST that comes back
 * to it (no JavaScript, no front-end build). Every value shown is escaped; secrets are never shown again.
 */

export type SetupView = {
  csrf: string;
  /** why greenlight is in setup mode: the configuration problems found at start */
  problems: readonly string[];
  notice: { ok: boolean; text: string } | null;
  gitlab: { url: string; publicUrl: string; tokenSaved: boolean; check: GitLabCheck | null };
  slack: {
    /** the workspace greenlight is installed in, and how */
    installed: { team: string; how: string } | null;
    error: string | null;
    createDisabled: string | null;
  };
  finish: {
    /** why steps 3-6 cannot be done yet, or null */
    blocked: string | null;
    sudoPossible: boolean;
    authMode: 'oauth' | 'sudo';
    oauthRedirectUri: string;
    gitlabApplicationsUrl: string;
    channels: SlackChannel[] | null;
    channelError: string | null;
    selectedChannel: string;
    targets: HookTarget[];
    tokenCanInstallHooks: boolean;
    errors: readonly string[];
  };
};

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1f2937;' +
  'line-height:1.45}h1{color:#14532d}section{border:1px solid #d1d5db;border-radius:6px;padding:0.5rem 1rem;' +
  'margin:1rem 0}label{display:block;margin:0.5rem 0 0.2rem;font-weight:600}input[type=text],' +
  'input[type=url],input[type=password],select{width:100%;padding:0.35rem;box-sizing:border-box}' +
  'button{display:block;margin:0.7rem 0;padding:0.45rem 1rem;font-weight:600}.ok{color:#14532d}.warn{color:#92400e}' +
  '.fail{color:#991b1b}.fix{margin-left:1.5rem;color:#374151}code{background:#f3f4f6;padding:0 0.2rem}' +
  '.notice{padding:0.5rem 1rem;border-radius:6px;background:#fef2f2}.notice.good{background:#f0fdf4}' +
  'details{margin:0.5rem 0}small{color:#4b5563}fieldset{border:0;padding:0;margin:0}pre{white-space:pre-wrap;' +
  'background:#f9fafb;padding:0.5rem;border:1px solid #e5e7eb}';

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>greenlight: ${e(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

const MARK = { ok: '✓', warn: '!', fail: '✗' } as const;

export function findingsList(findings: readonly Finding[]): string {
  if (findings.length === 0) return '';
  const items = findings.map(
    (f) =>
      `<li class="${f.level}" data-level="${f.level}">${MARK[f.level]} ${e(f.message)}` +
      `${f.level === 'ok' ? '' : `<div class="fix">→ ${e(f.fix)}</div>`}</li>`,
  );
  return `<ul class="findings">${items.join('')}</ul>`;
}

const csrfField = (csrf: string) => `<input type="hidden" name="csrf" value="${e(csrf)}">`;

export function setupPage(view: SetupView): string {
  const parts = [
    '<h1>Set up greenlight</h1>',
    view.problems.length > 0
      ? `<p>greenlight could not start with the configuration it has:</p><ul>${view.problems
          .map((p) => `<li>${e(p)}</li>`)
          .join('')}</ul><p>This page fixes that, step by step; each step is checked as you go. At the end it ` +
        'writes <code>.env</code> and starts greenlight.</p>'
      : '',
    view.notice ? `<p class="notice${view.notice.ok ? ' good' : ''}" role="status">${e(view.notice.text)}</p>` : '',
    gitlabStep(view),
    slackStep(view),
    finishSteps(view),
  ];
  return layout('setup', parts.join('\n'));
}

function gitlabStep(view: SetupView): string {
  const { gitlab } = view;
  return `<section id="gitlab"><h2>1. GitLab</h2>
<p>One personal access token: scope <code>api</code> (to install webhooks; <code>read_api</code> is enough for
greenlight itself). On a self-managed GitLab, an administrator's token with <code>api</code> and <code>sudo</code>
lets greenlight record approvals as each person without anyone linking an account (sudo mode).</p>
<form method="post" action="/setup/gitlab">${csrfField(view.csrf)}
<label for="gitlab_url">GitLab URL</label>
<input type="url" id="gitlab_url" name="gitlab_url" required value="${e(gitlab.url)}">
<label for="gitlab_token">Token</label>
<input type="password" id="gitlab_token" name="gitlab_token" autocomplete="off" ${
    gitlab.tokenSaved ? 'placeholder="saved (paste another one to replace it)"' : 'placeholder="glpat-..." required'
  }>
<small>Create it under User settings &gt; Access tokens.</small>
<label for="public_url">Public URL of greenlight</label>
<input type="url" id="public_url" name="public_url" required value="${e(gitlab.publicUrl)}">
<small>Where GitLab sends webhooks (<code>/webhooks/gitlab</code>) and Slack its requests: it must be reachable
from GitLab, and Slack only accepts <code>https://</code>. Without one, use Socket Mode (step 2, by hand) and list
projects in a policy file: greenlight then finds waiting deployments by polling.</small>
<button type="submit">Check GitLab</button></form>
${gitlab.check ? findingsList(gitlab.check.findings) : ''}</section>`;
}

function slackStep(view: SetupView): string {
  const { slack } = view;
  const done = slack.installed
    ? `<p class="ok">✓ greenlight is installed in the Slack workspace ${e(slack.installed.team)} ` +
      `(${e(slack.installed.how)}).</p>`
    : '';
  const error = slack.error ? `<p class="fail">✗ ${e(slack.error)}</p>` : '';
  const create = slack.createDisabled
    ? `<p><small>${e(slack.createDisabled)}</small></p>`
    : `<form method="post" action="/setup/slack/create">${csrfField(view.csrf)}
<label for="config_token">App configuration token</label>
<input type="password" id="config_token" name="config_token" autocomplete="off" required placeholder="xoxe.xoxp-...">
<small>At <a href="https://api.slack.com/apps">api.slack.com/apps</a>, under "Your App Configuration Tokens", press
Generate Token and pick your workspace. greenlight creates the app from its manifest with your URLs, then Slack
asks you to allow it in the workspace.</small>
<button type="submit">Create the Slack app and install it</button></form>`;
  return `<section id="slack"><h2>2. Slack</h2>${done}${error}${create}
<details><summary>Or enter an existing app's tokens by hand (also: Socket Mode, no public URL)</summary>
<form method="post" action="/setup/slack/manual">${csrfField(view.csrf)}
<label for="bot_token">Bot User OAuth Token</label>
<input type="password" id="bot_token" name="bot_token" autocomplete="off" placeholder="xoxb-...">
<label for="signing_secret">Signing secret (Basic Information)</label>
<input type="password" id="signing_secret" name="signing_secret" autocomplete="off">
<label for="app_token">Or, for Socket Mode, an app-level token with connections:write</label>
<input type="password" id="app_token" name="app_token" autocomplete="off" placeholder="xapp-...">
<button type="submit">Check these tokens</button></form></details></section>`;
}

function finishSteps(view: SetupView): string {
  const f = view.finish;
  if (f.blocked)
    return (
      '<section id="finish"><h2>3–6. Identity, channel, webhooks, start</h2>' +
      `<p><small>${e(f.blocked)}</small></p></section>`
    );
  const errors =
    f.errors.length > 0 ? `<ul>${f.errors.map((m) => `<li class="fail">✗ ${e(m)}</li>`).join('')}</ul>` : '';
  return `<form method="post" action="/setup/finish" id="finish">${csrfField(view.csrf)}${errors}
${identityStep(f)}
${channelStep(f)}
${webhookStep(f)}
<section id="start"><h2>6. Save and start</h2>
<p>greenlight writes <code>.env</code> (readable by you only, with a new webhook secret${
    f.authMode === 'oauth' ? ' and encryption key' : ''
  }), checks everything like <code>greenlight doctor</code> and starts.</p>
<button type="submit">Save and start greenlight</button></section></form>`;
}

function identityStep(f: SetupView['finish']): string {
  const radio = (mode: 'oauth' | 'sudo', label: string, disabled: boolean) =>
    `<label><input type="radio" name="auth_mode" value="${mode}"${f.authMode === mode ? ' checked' : ''}${
      disabled ? ' disabled' : ''
    }> ${label}</label>`;
  return `<section id="identity"><h2>3. How approvals are recorded as the person who clicks</h2>
<fieldset>${radio(
    'sudo',
    'sudo: greenlight acts for each person with the administrator token (self-managed GitLab)',
    !f.sudoPossible,
  )}
${f.sudoPossible ? '' : '<small>Needs an administrator token with api and sudo on a self-managed GitLab.</small>'}
${radio('oauth', 'oauth: each person links their GitLab account once (/deploys link)', false)}</fieldset>
<details${f.authMode === 'oauth' ? ' open' : ''}><summary>oauth: create a GitLab application</summary>
<p>In GitLab open <a href="${e(f.gitlabApplicationsUrl)}">User settings &gt; Applications</a> (or an instance-wide one
under Admin &gt; Applications) and add one with exactly these values:</p>
<ul><li>Name: <code>greenlight</code></li>
<li>Redirect URI: <code>${e(f.oauthRedirectUri)}</code></li>
<li>Confidential: checked</li><li>Scopes: <code>api</code> and <code>read_user</code></li></ul>
<label for="oauth_client_id">Application ID</label>
<input type="text" id="oauth_client_id" name="oauth_client_id" autocomplete="off">
<label for="oauth_client_secret">Secret</label>
<input type="password" id="oauth_client_secret" name="oauth_client_secret" autocomplete="off"></details></section>`;
}

function channelStep(f: SetupView['finish']): string {
  const options = (f.channels ?? [])
    .map(
      (c) =>
        `<option value="${e(c.id)}"${c.id === f.selectedChannel ? ' selected' : ''}>${c.isPrivate ? '🔒' : '#'}${e(
          c.name,
        )}${c.botIsMember ? ' (greenlight is in it)' : ''}</option>`,
    )
    .join('');
  const picker =
    f.channels && f.channels.length > 0
      ? `<label for="channel">Channel</label><select id="channel" name="channel">${options}</select>`
      : `<p class="warn">${e(f.channelError ?? 'No channel found.')}</p>
<label for="channel">Channel ID</label>
<input type="text" id="channel" name="channel" value="${e(f.selectedChannel)}" placeholder="C0123ABCD">`;
  return `<section id="channel-step"><h2>4. Default channel for approval cards</h2>${picker}
<label><input type="checkbox" name="join" value="1" checked> add greenlight to this channel (public channels; in a
private channel type <code>/invite @greenlight</code> there)</label></section>`;
}

function webhookStep(f: SetupView['finish']): string {
  const rows = f.targets
    .map((t) => {
      const value = `${t.kind}:${t.id}`;
      const approvals = t.approvals.map((a) => `${a.environment}: ${a.required} approval${a.required > 1 ? 's' : ''}`);
      return `<li><label><input type="checkbox" name="hooks" value="${e(value)}"${
        t.approvals.length > 0 ? ' checked' : ''
      }> ${t.kind === 'group' ? 'group' : 'project'} <code>${e(t.path)}</code>${
        approvals.length > 0 ? ` <small>(${e(approvals.join(', '))})</small>` : ''
      }</label></li>`;
    })
    .join('');
  const token = f.tokenCanInstallHooks
    ? ''
    : `<label for="hook_token">A token with the api scope to install them (used once, not saved)</label>
<input type="password" id="hook_token" name="hook_token" autocomplete="off">`;
  return `<section id="webhooks"><h2>5. Webhooks</h2>
<p>GitLab tells greenlight about deployments through a webhook on each group or project (Deployment, Pipeline and
Job events, with a secret). Installing again later updates it: <code>./run cli webhooks install --group acme</code>.</p>
${rows ? `<ul>${rows}</ul>` : '<p><small>No project or group found that this token manages.</small></p>'}
<label for="more_hooks">More projects or groups (paths separated by spaces: <code>acme/web</code> or
<code>group:acme</code>)</label>
<input type="text" id="more_hooks" name="more_hooks">${token}</section>`;
}

/** The last page: what was written, the doctor's report, and what to do next. */
export function finishedPage(input: {
  envFile: string;
  report: string;
  failed: boolean;
  next: string[];
  warnings: string[];
}): string {
  return layout(
    'running',
    `<h1>greenlight is running</h1>
<p>The settings are in <code>${e(input.envFile)}</code> (mode 600). This page is gone for good now: greenlight only
serves it while it is not configured.</p>
${input.warnings.map((w) => `<p class="warn">! ${e(w)}</p>`).join('')}
<h2>Check (greenlight doctor)</h2><pre id="doctor" data-failed="${input.failed}">${e(input.report)}</pre>
<h2>Next</h2><ol>${input.next.map((n) => `<li>${e(n)}</li>`).join('')}</ol>`,
  );
}

export function codePage(message: string): string {
  return layout(
    'setup code',
    `<h1>Set up greenlight</h1><p>${e(message)}</p>
<form method="get" action="/setup"><label for="code">Setup code</label>
<input type="text" id="code" name="code" autocomplete="off" required>
<button type="submit">Open the setup page</button></form>`,
  );
}
