#!/usr/bin/env node
// `greenlight <command>`: the operator CLI. Runs the TypeScript source in a checkout (Node 24 strips types,
// but not under node_modules) and the compiled dist/ in an image or an installed package.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const useSource = existsSync(source) && !fileURLToPath(source).includes('/node_modules/');
await import(useSource ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
