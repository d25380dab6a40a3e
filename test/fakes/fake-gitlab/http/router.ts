// Path-pattern routing on raw (still URL-encoded) segments, so `acme%2Fweb` stays one segment.
export interface RouteMatch<R> {
  route: R;
  params: Record<string, string>;
}

export interface Routable {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  pattern: string;
}

export function matchRoute<R extends Routable>(
  routes: readonly R[],
  method: string,
  path: string,
): RouteMatch<R> | null {
  const wanted = method === 'HEAD' ? 'GET' : method;
  const segments = path.split('/').filter((s) => s !== '');
  for (const route of routes) {
    if (route.method !== wanted) continue;
    const pattern = route.pattern.split('/').filter((s) => s !== '');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (const [i, part] of pattern.entries()) {
      const segment = segments[i] ?? '';
      if (part.startsWith(':')) {
        try {
          params[part.slice(1)] = decodeURIComponent(segment);
        } catch {
          matched = false;
        }
      } else if (part !== segment) {
        matched = false;
      }
      if (!matched) break;
    }
    if (matched) return { route, params };
  }
  return null;
}
