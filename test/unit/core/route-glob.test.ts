import { describe, expect, it } from 'vitest';
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
 * Linear time, measured as a ratio: the same pattern against a subject 8 times longer must take about 8 times as
 * long, not 64 (quadratic) or more. Each measurement is the median of several rounds of many matches, so that the
 * ratio does not depend on the machine's speed or load. A backtracking RegExp does not finish at all here.
 */
describe('route globs are matched in time linear in the subject', () => {
  const medianMs = (fn: () => void, rounds = 7): number => {
    const times: number[] = [];
    for (let r = 0; r < rounds; r += 1) {
      const start = performance.now();
      fn();
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
  };
  const ratio = (pattern: string, subject: (n: number) => string, n: number, repeat: number) => {
    const short = subject(n);
    const long = subject(8 * n);
    const run = (s: string) => () => {
      for (let i = 0; i < repeat; i += 1) globMatches(pattern, s);
    };
    run(short)(); // compile and warm up
    run(long)();
    return medianMs(run(long)) / Math.max(medianMs(run(short)), 0.05);
  };

  // Failing matches that cannot be cut short (no literal suffix to check first), the worst case for a backtracker.
  it.each([
    ['*a*a*a*a*a*a*a*a*b*', (n: number) => 'a'.repeat(n)],
    ['a*a*a*a*a*a*a*a*a*a*a*a*b*', (n: number) => 'a'.repeat(n)],
    ['**/a/**/a/**/a/**/a/**/b/**', (n: number) => Array.from({ length: n / 4 }, () => 'aaa').join('/')],
    ['acme/**/*a*a*a*b*/**', (n: number) => `acme/${Array.from({ length: n / 16 }, () => 'a'.repeat(15)).join('/')}`],
  ])('%s', (pattern, subject) => {
    expect(globMatches(pattern, subject(64))).toBe(false);
    expect(ratio(pattern, subject, 4_000, 30)).toBeLessThan(24);
  });
});
