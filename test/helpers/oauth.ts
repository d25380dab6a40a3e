import type { FakeGitLab } from '../fakes/fake-gitlab.ts';
import { Browser } from './cookie-browser.ts';
import type { World } from './world.ts';

/** greenlight's address as GitLab and browsers know it; tests rewrite it to the app's real port. */
export const PUBLIC_URL = 'http://greenlight.test';
export const REDIRECT_URI = `${PUBLIC_URL}/oauth/gitlab/callback`;
export const SLACK_REDIRECT_URI = `${PUBLIC_URL}/oauth/slack/callback`;
export const OAUTH_CLIENT = { id: 'greenlight-app-id', secret: 'greenlight-app-secret-0123' };
export const READ_TOKEN = 'glpat-greenlight-reader-0001';
/** Two 32-byte keys (base64) for TOKEN_ENCRYPTION_KEY and rotation tests. */
export const KEY_A = Buffer.alloc(32, 7).toString('base64');
export const KEY_B = Buffer.alloc(32, 9).toString('base64');

/**
 * Turns a world into an oauth-mode installation: GitLab knows greenlight's OAuth application, and
 * GITLAB_TOKEN is a plain read_api token of a reporter (no admin, no sudo: it can act for nobody).
 */
export function oauthEnv(world: World): Record<string, string> {
  const reader = world.gitlab.addUser({ username: 'greenlight-reader', name: 'greenlight reader' });
  world.gitlab.addProjectMember(world.project.id, reader.id, 20);
  world.gitlab.addToken({ token: READ_TOKEN, userId: reader.id, scopes: ['read_api'] });
  world.gitlab.addOAuthApplication({
    clientId: OAUTH_CLIENT.id,
    clientSecret: OAUTH_CLIENT.secret,
    redirectUri: REDIRECT_URI,
    scopes: ['api', 'read_user'],
  });
  world.slack.addRedirectUrl(SLACK_REDIRECT_URI);
  return {
    ...world.env,
    SLACK_CLIENT_ID: world.slack.identity.clientId,
    SLACK_CLIENT_SECRET: world.slack.identity.clientSecret,
    GITLAB_AUTH_MODE: 'oauth',
    GITLAB_TOKEN: READ_TOKEN,
    GITLAB_OAUTH_CLIENT_ID: OAUTH_CLIENT.id,
    GITLAB_OAUTH_CLIENT_SECRET: OAUTH_CLIENT.secret,
    TOKEN_ENCRYPTION_KEY: KEY_A,
    PUBLIC_URL,
  };
}

/** The same URL on the app under test (PUBLIC_URL is what a browser would use). */
export function onApp(appUrl: string, url: string): string {
  const u = new URL(url);
  return `${appUrl}${u.pathname}${u.search}`;
}

export type BrowserLink = {
  /** Where the Slack leg sent the browser on: GitLab's authorize URL. */
  authorizeUrl: URL;
  /** Where Slack's sign-in sent the browser (greenlight's Slack callback). */
  slackCallbackUrl: URL | undefined;
  /** Where GitLab sent the browser back. */
  callbackUrl: URL;
  status: number;
  headers: Headers;
  html: string;
  browser: Browser;
};

/** A person's browser, signed in to Slack and GitLab as the given users (either may be left out). */
export function browserFor(world: World, appUrl: string, signedIn: { slack?: string; gitlab?: number } = {}): Browser {
  const browser = new Browser({ publicUrl: PUBLIC_URL, appUrl });
  if (signedIn.slack !== undefined) {
    const cookie = world.slack.browserCookie(signedIn.slack);
    browser.setCookie(world.slack.url, cookie.name, cookie.value);
  }
  if (signedIn.gitlab !== undefined) browser.setCookie(world.gitlab.url, 'fake_gitlab_user', String(signedIn.gitlab));
  return browser;
}

/**
 * A person opens the Link button in their browser (signed in to Slack as `slack`, to GitLab as `gitlab`), signs
 * in with Slack, authorizes greenlight in GitLab, and comes back: every redirect followed by the browser.
 */
export async function linkInBrowser(
  appUrl: string,
  world: World,
  linkUrl: string,
  signedIn: { slack: string; gitlab: number } | Browser,
): Promise<BrowserLink> {
  const browser = signedIn instanceof Browser ? signedIn : browserFor(world, appUrl, signedIn);
  const visit = await browser.open(linkUrl);
  const authorizeUrl = visit.hops.find((u) => u.origin === new URL(world.gitlab.url).origin) ?? visit.url;
  const slackCallbackUrl = visit.hops.find((u) => u.pathname === '/oauth/slack/callback');
  return {
    authorizeUrl,
    slackCallbackUrl,
    callbackUrl: visit.url,
    status: visit.status,
    headers: visit.headers,
    html: visit.html,
    browser,
  };
}

/** The Link button's URL in Slack blocks, if any. */
export function linkButtonUrl(blocks: ReadonlyArray<Record<string, unknown>>): string | undefined {
  for (const block of blocks) {
    if (block.type !== 'actions') continue;
    const button = (block.elements as Array<{ action_id?: string; url?: string }>).find(
      (e) => e.action_id === 'gitlab_link',
    );
    if (button?.url) return button.url;
  }
  return undefined;
}

/** POST /oauth/token refresh grants the fake has seen. */
export function refreshCalls(gitlab: FakeGitLab) {
  return gitlab.requests.filter(
    (r) => r.path === '/oauth/token' && (r.body as { grant_type?: string } | null)?.grant_type === 'refresh_token',
  );
}
