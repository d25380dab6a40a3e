import type { Policy, RouteMatch, RoutePolicy } from '../policy.ts';

export type RouteSubject = { projectPath: string; environment: string; tier: string | null };

const globCache = new Map<string, RegExp>();

/** `*` matches within one path segment, `**` across segments, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let cached = globCache.get(glob);
  if (cached) return cached;
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i += 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  cached = new RegExp(`^${source}$`);
  globCache.set(glob, cached);
  return cached;
}

export function routeMatches(match: RouteMatch, subject: RouteSubject): boolean {
  if (match.project !== undefined && !globToRegExp(match.project).test(subject.projectPath)) return false;
  if (match.environment !== undefined && !globToRegExp(match.environment).test(subject.environment)) return false;
  if (match.tier !== undefined && match.tier !== subject.tier) return false;
  return true;
}

/** The policy for one deployment: the first matching route over the top level. */
export function routeDeployment(policy: Policy, subject: RouteSubject): RoutePolicy {
  const route = policy.routes.find((r) => routeMatches(r.match, subject));
  return route ? { ...policy.defaults, ...route.overrides } : policy.defaults;
}
