import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { secureEquals } from '../lib/secure-compare.ts';
import { PAGE_HEADERS } from '../entrypoints/http/html-page.ts';
import { checkGitLabSetup } from './gitlab-checks.ts';
import { codePage, setupPage, type SetupView } from './pages.ts';
import { createSetupSessions } from './session.ts';
import {
  checkManualTokens,
  createSlackApp,
  exchangeInstallCode,
  INSTALL_CALLBACK_PATH,
  installUrl,
  listChannels,
  manifestFor,
} from './slack-app.ts';
import { completeSetup, type FinishForm } from './finish.ts';

/**
 * The setup server: what greenlight serves on PORT instead of itself while it is not configured. It keeps
 * the person's answers in memory (a draft), checks each step as it is submitted, and at the end writes .env
 * and hands the configuration to main, which starts greenlight on the same port.
 */

import type { Draft, SetupServerDeps } from './draft.ts';

export type { Draft, SetupServerDeps, SlackDraft } from './draft.ts';

export type SetupResult = {
  /** the environment greenlight starts with (process environment plus what the page wrote) */
  env: Record<string, string | undefined>;
  /** sends the last page (doctor's report) to the browser that pressed "Save and start", and closes its connection */
  complete(html: string): void;
  envFile: string;
  warnings: string[];
};

export type SetupServer = {
  port: number;
  code: string;
  /** resolves when the person pressed "Save and start" and .env is written; the server no longer listens then */
  finished: Promise<SetupResult>;
  close(): Promise<void>;
};

const Form = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
const field = (body: unknown, name: string): string => {
  const parsed = Form.safeParse(body);
  const value = parsed.success ? parsed.data[name] : undefined;
  return (Array.isArray(value) ? (value[0] ?? '') : (value ?? '')).trim();
};
const fields = (body: unknown, name: string): string[] => {
  const parsed = Form.safeParse(body);
  const value = parsed.success ? parsed.data[name] : undefined;
  return (value === undefined ? [] : Array.isArray(value) ? value : [value]).map((v) => v.trim()).filter(Boolean);
};

export async function startSetupServer(deps: SetupServerDeps): Promise<SetupServer> {
  const slackOrigin = new URL(deps.slackApiUrl).origin;
  const headers = {
    ...PAGE_HEADERS,
    // forms post to this page; creating the Slack app ends in a redirect to Slack's consent page
    'Content-Security-Policy':
      `default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self' ${slackOrigin}; ` +
      "frame-ancestors 'none'",
  };
  const sessions = createSetupSessions({
    onRefused: (reason) => deps.print(`greenlight setup: refused ${reason}`),
    ...(deps.code !== undefined && { code: deps.code }),
  });
  const draft: Draft = {
    gitlab: {
      url: deps.env.GITLAB_URL?.trim() || 'https://gitlab.com',
      token: null,
      publicUrl: deps.env.PUBLIC_URL?.trim() || null,
      check: null,
    },
    slack: null,
    slackError: null,
    pendingInstall: null,
    channels: null,
    channelError: null,
    finishErrors: [],
    notice: null,
  };

  let resolveFinished!: (result: SetupResult) => void;
  const finished = new Promise<SetupResult>((resolve) => {
    resolveFinished = resolve;
  });

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set(headers);
    next();
  });
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 2000 });
  const origin = (req: Request) => `${req.protocol}://${req.get('host') ?? `localhost:${deps.port}`}`;
  const back = (res: Response, anchor: string) => res.redirect(303, `/setup#${anchor}`);

  app.get('/setup', (req, res) => {
    if (typeof req.query.code === 'string') {
      const opened = sessions.open(req, res);
      if (opened === 'opened') return back(res, 'gitlab');
      res
        .status(opened === 'locked' ? 429 : 401)
        .type('html')
        .send(
          codePage(
            opened === 'locked'
              ? 'Too many wrong codes. Restart greenlight to get a new code.'
              : 'That is not the code greenlight printed on its console. Copy the whole link from there.',
          ),
        );
      return;
    }
    const session = sessions.current(req);
    if (!session) {
      res
        .status(401)
        .type('html')
        .send(codePage('Open the link greenlight printed on its console, or type the code it shows.'));
      return;
    }
    const notice = draft.notice;
    draft.notice = null;
    res.type('html').send(setupPage(view(draft, session.csrf, deps, origin(req), notice)));
  });

  app.post('/setup/gitlab', form, sessions.guard, async (req, res) => {
    const url = field(req.body, 'gitlab_url').replace(/\/+$/, '');
    const token = field(req.body, 'gitlab_token') || draft.gitlab.token || '';
    const publicUrl = field(req.body, 'public_url').replace(/\/+$/, '');
    draft.gitlab.url = url;
    if (URL.canParse(publicUrl) && /^https?:$/.test(new URL(publicUrl).protocol)) draft.gitlab.publicUrl = publicUrl;
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol) || !token) {
      draft.notice = { ok: false, text: 'Give the GitLab URL (https://...) and a token.' };
      return back(res, 'gitlab');
    }
    draft.gitlab.token = token;
    draft.gitlab.check = await checkGitLabSetup({ url, token });
    draft.notice = draft.gitlab.check.ok
      ? { ok: true, text: 'GitLab checks out. Next: Slack.' }
      : { ok: false, text: 'GitLab needs attention: see step 1.' };
    back(res, 'gitlab');
  });

  app.post('/setup/slack/create', form, sessions.guard, async (req, res) => {
    const publicUrl = draft.gitlab.publicUrl;
    const configToken = field(req.body, 'config_token');
    if (!publicUrl) {
      draft.slackError = 'Give the public URL in step 1 first: the Slack app sends its requests there.';
      return back(res, 'slack');
    }
    const created = await createSlackApp(deps.slackApiUrl, configToken, manifestFor(publicUrl, deps.command));
    if (!created.ok) {
      draft.slackError = created.error;
      return back(res, 'slack');
    }
    const state = randomBytes(24).toString('base64url');
    const redirectUri = `${publicUrl}${INSTALL_CALLBACK_PATH}`;
    draft.pendingInstall = { state, app: created.app, redirectUri, returnTo: origin(req) };
    draft.slackError = null;
    // straight on to Slack's consent page: one "Allow" installs the app
    res.redirect(303, installUrl(created.app, redirectUri, state));
  });

  // Slack's redirect after "Allow": may arrive on the public URL (another origin than the page), so it is
  // authenticated by the single-use state of the install this page started, not by the session cookie.
  app.get(INSTALL_CALLBACK_PATH, async (req, res) => {
    const pending = draft.pendingInstall;
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    if (!pending || !secureEquals(state, pending.state)) {
      res
        .status(400)
        .type('html')
        .send(codePage('This Slack install was not started by this setup page. Start it again there.'));
      return;
    }
    draft.pendingInstall = null;
    const to = `${pending.returnTo}/setup#slack`;
    const code = typeof req.query.code === 'string' ? req.query.code : '';
    if (!code) {
      draft.slackError = `Slack did not install the app (${String(req.query.error ?? 'no code')}). Try again.`;
      return res.redirect(303, to);
    }
    const installed = await exchangeInstallCode(deps.slackApiUrl, {
      clientId: pending.app.clientId,
      clientSecret: pending.app.clientSecret,
      code,
      redirectUri: pending.redirectUri,
    });
    if (!installed.ok) {
      draft.slackError = installed.error;
      return res.redirect(303, to);
    }
    draft.slack = {
      botToken: installed.botToken,
      signingSecret: pending.app.signingSecret,
      appToken: null,
      clientId: pending.app.clientId,
      clientSecret: pending.app.clientSecret,
      team: installed.team,
      how: `app ${pending.app.appId} created from manifest.yml`,
    };
    draft.slackError = null;
    await loadChannels(draft, deps.slackApiUrl);
    draft.notice = { ok: true, text: 'greenlight is installed in Slack. Next: steps 3 to 6.' };
    res.redirect(303, `${pending.returnTo}/setup#identity`);
  });

  app.post('/setup/slack/manual', form, sessions.guard, async (req, res) => {
    const botToken = field(req.body, 'bot_token');
    const signingSecret = field(req.body, 'signing_secret');
    const appToken = field(req.body, 'app_token');
    if (!appToken && !signingSecret) {
      draft.slackError = 'Give the signing secret, or an app-level token for Socket Mode.';
      return back(res, 'slack');
    }
    const checked = await checkManualTokens(deps.slackApiUrl, { botToken, ...(appToken && { appToken }) });
    if (!checked.ok) {
      draft.slackError = checked.error;
      return back(res, 'slack');
    }
    draft.slack = {
      botToken,
      signingSecret: signingSecret || null,
      appToken: appToken || null,
      clientId: null,
      clientSecret: null,
      team: checked.team,
      how: appToken ? 'Socket Mode, tokens entered by hand' : 'tokens entered by hand',
    };
    draft.slackError = null;
    await loadChannels(draft, deps.slackApiUrl);
    back(res, 'identity');
  });

  app.post('/setup/finish', form, sessions.guard, async (req, res) => {
    const input: FinishForm = {
      authMode: field(req.body, 'auth_mode') === 'sudo' ? 'sudo' : 'oauth',
      oauthClientId: field(req.body, 'oauth_client_id'),
      oauthClientSecret: field(req.body, 'oauth_client_secret'),
      channel: field(req.body, 'channel'),
      join: field(req.body, 'join') === '1',
      hooks: fields(req.body, 'hooks'),
      moreHooks: field(req.body, 'more_hooks'),
      hookToken: field(req.body, 'hook_token'),
    };
    const outcome = await completeSetup({ draft, form: input, deps });
    if (!outcome.ok) {
      draft.finishErrors = outcome.errors;
      return back(res, 'finish');
    }
    // The answer waits for greenlight itself: main starts it on this port and sends the doctor's report.
    stopListening();
    resolveFinished({
      env: outcome.env,
      envFile: deps.envFile,
      warnings: outcome.warnings,
      complete(html) {
        res.status(200).type('html').send(html);
        res.on('finish', () => server.closeAllConnections());
      },
    });
  });

  app.use((_req, res) => {
    res.status(404).type('text').send('greenlight is not configured yet: open /setup (see the console for the code).');
  });

  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let listening = true;
  const stopListening = () => {
    if (!listening) return;
    listening = false;
    server.close();
    server.closeIdleConnections();
  };
  return {
    port,
    code: sessions.code,
    finished,
    async close() {
      stopListening();
      server.closeAllConnections();
    },
  };
}

async function loadChannels(draft: Draft, apiUrl: string): Promise<void> {
  if (!draft.slack) return;
  const listed = await listChannels(apiUrl, draft.slack.botToken);
  draft.channels = listed.ok ? listed.channels : null;
  draft.channelError = listed.ok
    ? null
    : `${listed.error}: type the channel ID instead (channel details > About, at the bottom)`;
}

function view(draft: Draft, csrf: string, deps: SetupServerDeps, origin: string, notice: Draft['notice']): SetupView {
  const check = draft.gitlab.check;
  const publicUrl = draft.gitlab.publicUrl ?? origin;
  const sudoPossible = !!check && check.isAdmin && check.scopes.includes('sudo') && !check.isGitLabCom;
  const blocked = !check?.ok
    ? 'First step 1: GitLab must check out.'
    : !draft.slack
      ? 'Then step 2: install greenlight in Slack.'
      : null;
  const channels = draft.channels;
  const preferred =
    channels?.find((c) => c.id === deps.env.SLACK_CHANNEL) ??
    channels?.find((c) => /deploy/i.test(c.name)) ??
    channels?.[0];
  return {
    csrf,
    problems: deps.problems,
    notice,
    gitlab: { url: draft.gitlab.url, publicUrl, tokenSaved: draft.gitlab.token !== null, check },
    slack: {
      installed: draft.slack ? { team: draft.slack.team, how: draft.slack.how } : null,
      error: draft.slackError,
      createDisabled: draft.gitlab.publicUrl ? null : "Step 1 first: the Slack app needs greenlight's public URL.",
    },
    finish: {
      blocked,
      sudoPossible,
      authMode: sudoPossible ? 'sudo' : 'oauth',
      oauthRedirectUri: `${publicUrl}/oauth/gitlab/callback`,
      gitlabApplicationsUrl: `${draft.gitlab.url}/-/user_settings/applications`,
      channels,
      channelError: draft.channelError,
      selectedChannel: preferred?.id ?? deps.env.SLACK_CHANNEL ?? '',
      targets: check?.targets ?? [],
      tokenCanInstallHooks: !!check && check.scopes.includes('api'),
      errors: draft.finishErrors,
    },
  };
}
