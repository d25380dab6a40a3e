import { Matcher } from '@isaacs/nonrecursive-glob-match';
import { describe, expect, it, vi } from 'vitest';
import { globMatches, globProblem } from '../../../src/core/routing/glob.ts';

describe('route globs: what * and ** mean (README, docs/configuration.md)', () => {
  it.each([
    ['acme/payments/*', 'acme/payments/api', true],
    ['acme/payments/*', 'acme/payments/api/v2', false],
    ['acme/payments/*', 'acme/payments', false],
    ['acme/**', 'acme/web', true],
    ['acme/**', 'acme/payments/api/v2', true],
    ['acme/**', 'acme', false],
    ['acme/**', 'acmeweb/x', false],
    ['acme/**/web', 'acme/web', true],
    ['acme/**/web', 'acme/a/b/web', true],
    ['**/web', 'acme/team/web', true],
    ['**', 'any/path/at/all', true],
    ['prod*', 'production', true],
    ['prod*', 'prod', true],
    ['prod*', 'prod/eu', false],
    ['review/*', 'review/feature-x', true],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['*', '.hidden', true],
    ['acme/web.site', 'acme/web.site', true],
    ['acme/web.site', 'acme/webXsite', false],
    ['env-$NAME{1}', 'env-$NAME{1}', true],
    ['a+b(c)|d', 'a+b(c)|d', true],
    ['!prod', '!prod', true],
    ['#prod', '#prod', true],
    ['production', 'Production', false],
  ])('%s matches %s: %s', (pattern, subject, expected) => {
    expect(globMatches(pattern, subject)).toBe(expected);
  });

  it('refuses ** inside a segment (it used to cross segments there) and over-long patterns', () => {
    expect(globProblem('acme/**')).toBeNull();
    expect(globProblem('**/a/**/b')).toBeNull();
    expect(globProblem('**a**a**b')).toMatch(/inside a path segment/);
    expect(globProblem('acme/**-web')).toMatch(/inside a path segment/);
    expect(globProblem('a'.repeat(501))).toMatch(/longer than 500/);
  });
});

/**
 * Linear time, by counting: minimatch hands each path segment to a Thompson NFA (@isaacs/nonrecursive-glob-match,
 * Matcher#testUnchecked), which reads the segment once per pattern state (linear by construction, no backtracking).
 * What remains to prove is that the characters handed to it grow linearly with the subject: counted here, for a
 * subject 8 times longer, exactly, so the result does not depend on the machine's speed or load. (A backtracking
 * RegExp, as before, does not finish on these inputs at all.)
 */
describe('route globs are matched in time linear in the subject', () => {
  const charsRead = (pattern: string, subject: string): number => {
    let chars = 0;
    const original = Matcher.prototype.testUnchecked;
    const spy = vi.spyOn(Matcher.prototype, 'testUnchecked').mockImplementation(function (this: Matcher, s: string) {
      chars += s.length;
      return original.call(this, s);
    });
    try {
      expect(globMatches(pattern, subject)).toBe(false);
    } finally {
      spy.mockRestore();
    }
    return chars;
  };

  // Failing matches that cannot be cut short (no literal suffix to check first): the worst case for a backtracker.
  it.each([
    ['*a*a*a*a*a*a*a*a*b*', (n: number) => 'a'.repeat(n)],
    ['a*a*a*a*a*a*a*a*a*a*a*a*b*', (n: number) => 'a'.repeat(n)],
    ['**/a*/**/a*/**/a*/**/a*/**/b*/**', (n: number) => Array.from({ length: n / 4 }, () => 'aaa').join('/')],
    ['acme/**/*a*a*a*b*/**', (n: number) => `acme/${Array.from({ length: n / 16 }, () => 'a'.repeat(15)).join('/')}`],
  ])('%s', (pattern, subject) => {
    const short = charsRead(pattern, subject(4_000));
    const long = charsRead(pattern, subject(32_000));
    expect(short).toBeGreaterThan(0);
    expect(long / short).toBeLessThanOrEqual(8.01);
  });
});
