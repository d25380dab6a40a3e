import type { ApiObserver } from './metrics.ts';

/**
 * `GET projects/:id/deployments/:id` from gitbeaker's endpoint:
 * ids and URL-encoded paths become :id (bounded label values).
 */
export function gitlabOperation(method: string, endpoint: string): string {
  const path = endpoint
    .split('?')[0]!
    .replace(/^\/+/, '')
    .replace(/^api\/v4\//, '');
  const route = path
    .split('/')
    .map((segment) => (/^\d+$/.test(segment) || /%2F/i.test(segment) ? ':id' : segment))
    .join('/');
  return `${method.toUpperCase()} ${route}`;
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
export function observedSlackFetch(observe: ApiObserver, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const operation = new URL(url).pathname.split('/').pop() || 'unknown';
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
