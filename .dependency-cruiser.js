// Dependency rules of greenlight's layers (npm run lint runs them): core -> adapters -> entrypoints -> app.
// The core decides and knows no SDK; adapters translate at the edges; entrypoints receive; src/app.ts and
// src/main.ts compose. See CONVENTIONS.md.
// Resolved paths of the SDKs (and their @types), as eslint.config.js lists them: the core reaches them only
// through ports (src/core/ports.ts). Pure libraries (zod, croner, minimatch) are allowed.
const SDKS = [
  '@slack/',
  '@gitbeaker/',
  'bullmq/',
  'ioredis/',
  'express/',
  'pino/',
  'pino-[a-z-]+/',
  'prom-client/',
].map((name) => `(^|/)node_modules/(@types/)?${name}`);
const APP = '^src/(app|main)\\.ts$|^src/app/';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import circle: split out what both sides need (types into their own module).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-no-sdk',
      severity: 'error',
      comment: 'src/core decides and never sees an SDK: add a port in src/core/ports.ts, implement it in adapters.',
      from: { path: '^src/core/' },
      to: { path: SDKS },
    },
    {
      name: 'core-no-outer-layers',
      severity: 'error',
      comment: 'src/core imports nothing from adapters, entrypoints, app or setup: the arrows point inwards.',
      from: { path: '^src/core/' },
      to: { path: ['^src/adapters/', '^src/entrypoints/', '^src/setup/', '^src/cli/', APP] },
    },
    {
      name: 'adapters-not-entrypoints-or-app',
      severity: 'error',
      comment: 'Adapters translate; they never import entrypoints or the composition root.',
      from: { path: '^src/adapters/' },
      to: { path: ['^src/entrypoints/', APP] },
    },
    {
      name: 'entrypoints-not-app',
      severity: 'error',
      comment: 'Entrypoints receive and hand over; the composition root imports them, never the other way.',
      from: { path: '^src/entrypoints/' },
      to: { path: [APP] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    cache: false,
  },
};
