import { Minimatch } from 'minimatch';

/**
 * Route globs (policy `routes[].match.project` and `.environment`), matched by minimatch 11, whose matcher runs in
 * time linear in the subject for a given pattern: one path segment is matched by a Thompson NFA
 * (@isaacs/nonrecursive-glob-match, no regular expression and no backtracking), and `**` segments are walked once
 * per (pattern part, subject segment) pair. A pattern compiled to a JavaScript RegExp would backtrack: `*a*a*a*b`
 * against a long name takes polynomial time, and a route glob like that froze the process.
 *
 * - `*` any characters within one path segment (not `/`), `?` one such character, `[abc]` one of these;
 * - `**` as a whole path segment: any number of segments (`acme/**`, or between two slashes);
 * - everything else is literal: no braces, no extglobs, no negation, no comments.
 */
const OPTIONS = {
  dot: true,
  nobrace: true,
  noext: true,
  nonegate: true,
  nocomment: true,
} as const;

/** Patterns are the operator's, but a bound keeps matching cheap whatever the policy file says. */
export const MAX_GLOB_LENGTH = 500;

/** Why a route glob is refused (at start, with the other configuration problems), or null. */
export function globProblem(pattern: string): string | null {
  if (pattern.length > MAX_GLOB_LENGTH) return `is longer than ${MAX_GLOB_LENGTH} characters`;
  if (pattern.split('/').some((segment) => segment !== '**' && segment.includes('**')))
    return (
      'uses ** inside a path segment: ** matches across segments only as a whole segment ' +
      '(acme/** or acme/**/web); within a segment write * (prod*)'
    );
  return null;
}

const compiled = new Map<string, Minimatch>();

/** Whether `subject` (a project path or an environment name) matches the route glob. */
export function globMatches(pattern: string, subject: string): boolean {
  let matcher = compiled.get(pattern);
  if (!matcher) {
    matcher = new Minimatch(pattern, OPTIONS);
    compiled.set(pattern, matcher);
  }
  return matcher.match(subject);
}
