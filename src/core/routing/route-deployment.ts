import type { Policy, RouteMatch, RoutePolicy } from '../policy.ts';
import { globMatches } from './glob.ts';

export type RouteSubject = { projectPath: string; environment: string; tier: string | null };

export function routeMatches(match: RouteMatch, subject: RouteSubject): boolean {
  if (match.project !== undefined && !globMatches(match.project, subject.projectPath)) return false;
  if (match.environment !== undefined && !globMatches(match.environment, subject.environment)) return false;
  if (match.tier !== undefined && match.tier !== subject.tier) return false;
  return true;
}

/** The policy for one deployment: the first matching route over the top level. */
export function routeDeployment(policy: Policy, subject: RouteSubject): RoutePolicy {
  const route = policy.routes.find((r) => routeMatches(r.match, subject));
  return route ? { ...policy.defaults, ...route.overrides } : policy.defaults;
}

/** Every channel cards may be posted in: the default one and the routes' own. */
export function cardChannels(policy: Policy): string[] {
  const channels = [policy.defaults.channel, ...policy.routes.map((r) => r.overrides.channel ?? null)];
  return [...new Set(channels.filter((c): c is string => typeof c === 'string' && c.length > 0))];
}
