import type { ApiObserver } from './metrics.ts';

/** The words of the GitLab API routes greenlight calls; any other path segment is an id, a path or a name. */
const GITLAB_ROUTE_WORDS = new Set([
  'all',
  'approval',
  'deployments',
  'emails',
  'environments',
  'groups',
  'hooks',
  'jobs',
  'members',
  'personal_access_tokens',
  'play',
  'projects',
  'protected_environments',
  'self',
  'user',
  'users',
  'version',
]);
const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

/**
 * `GET projects/:id/deployments/:id` from gitbeaker's endpoint: every segment that is not a route word (ids,
 * URL-encoded paths, group or user names) becomes :id, so the label has a bounded set of values.
 */
export function gitlabOperation(method: string, endpoint: string): string {
  const path = endpoint
    .split('?')[0]!
    .replace(/^\/+/, '')
    .replace(/^api\/v4\//, '');
  const route = path
    .split('/')
    .slice(0, 8)
    .map((segment) => (GITLAB_ROUTE_WORDS.has(segment) ? segment : ':id'))
    .join('/');
  const verb = method.toUpperCase();
  return `${HTTP_METHODS.has(verb) ? verb : 'OTHER'} ${route}`;
}

/** A Slack Web API method name (chat.postMessage, users.info); anything else is not one. */
export const SLACK_METHOD = /^[a-z]+(?:\.[a-zA-Z]+){1,3}$/;

/**
 * The operation label of a request made by the Slack fetch: the Web API method for calls under `apiUrl`, and
 * `response_url` for everything else (respond() posts to response_url, whose last segment is a secret).
 */
export function slackOperation(url: string, apiUrl: string): string {
  if (!url.startsWith(apiUrl)) return 'response_url';
  const method = url.slice(apiUrl.length).split(/[?#]/)[0]!;
  return method.length <= 64 && SLACK_METHOD.test(method) ? method : 'other';
}

/** How a failed request ended when there was no HTTP answer. */
export function noAnswerStatus(error: unknown): string {
  const name = (error as Error | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
}

/**
 * A fetch for @slack/web-api's WebClient that reports each Web API call (method, HTTP status, Slack's
 * error code for ok:false answers, duration) to the observer.
 */
export function observedSlackFetch(observe: ApiObserver, apiUrl: string, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const operation = slackOperation(url, apiUrl);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let response: Response;
    try {
      response = await base(input, init);
    } catch (error) {
      observe({ api: 'slack', operation, status: noAnswerStatus(error), seconds: seconds() });
      throw error;
    }
    let error: string | undefined;
    if (response.ok && (response.headers.get('content-type') ?? '').includes('json')) {
      const body = (await response
        .clone()
        .json()
        .catch(() => null)) as { ok?: unknown; error?: unknown } | null;
      if (body?.ok === false) error = typeof body.error === 'string' ? body.error : 'unknown_error';
    }
    observe({
      api: 'slack',
      operation,
      status: String(response.status),
      ...(error !== undefined && { error }),
      seconds: seconds(),
    });
    return response;
  };
}
