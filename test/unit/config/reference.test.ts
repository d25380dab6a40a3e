import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from '../../../src/config/reference.ts';
import { envVars } from '../../../src/config/env-schema.ts';

describe('configuration reference', () => {
  it('docs/configuration.md is what the schema generates (run npm run docs:config after schema changes)', () => {
    expect(readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')).toBe(
      renderConfigReference(),
    );
  });

  it('.env.example lists every variable the schema knows', () => {
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    for (const name of Object.keys(envVars)) expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});
