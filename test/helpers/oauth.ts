import type { FakeGitLab } from '../fakes/fake-gitlab.ts';
import type { World } from './world.ts';

/** greenlight's address as GitLab and browsers know it; tests rewrite it to the app's real port. */
export const PUBLIC_URL = 'http://greenlight.test';
export const REDIRECT_URI = `${PUBLIC_URL}/oauth/gitlab/callback`;
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
  return {
    ...world.env,
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
  /** Where /oauth/gitlab/start sent the browser (GitLab's authorize URL). */
  authorizeUrl: URL;
  /** Where GitLab sent the browser back. */
  callbackUrl: URL;
  status: number;
  headers: Headers;
  html: string;
};

/** A person opens the Link button, signs in to GitLab as `gitlabUserId`, clicks Authorize, and comes back. */
export async function linkInBrowser(
  appUrl: string,
  gitlab: FakeGitLab,
  linkUrl: string,
  gitlabUserId: number,
): Promise<BrowserLink> {
  const start = await fetch(onApp(appUrl, linkUrl), { redirect: 'manual' });
  if (start.status !== 302) throw new Error(`start answered ${start.status}: ${await start.text()}`);
  const authorizeUrl = new URL(start.headers.get('location') ?? '');
  const callbackUrl = new URL(await gitlab.authorize(authorizeUrl.toString(), gitlabUserId));
  const back = await fetch(onApp(appUrl, callbackUrl.toString()), { redirect: 'manual' });
  return { authorizeUrl, callbackUrl, status: back.status, headers: back.headers, html: await back.text() };
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
