#!/usr/bin/env node
// `greenlight <command>`: the operator CLI. In a checkout it runs the TypeScript source, which needs Node 24
// (it strips the types): on an older Node (npx greenlight, npm run cli with the machine's Node 20) it runs itself
// again with the Node 24 that ./run keeps in .tools/, fetching it first through scripts/bootstrap.sh. In an image
// or an installed package it runs the compiled dist/. Plain JavaScript that Node 18 and later understand.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const source = new URL('src/cli/main.ts', root);
const compiled = new URL('dist/cli/main.js', root);
const inCheckout = existsSync(source) && !fileURLToPath(source).includes('/node_modules/');

/** Node 22.18+ and 23.6+ strip types by default; process.features.typescript says so (false when turned off). */
const stripsTypes = Boolean(process.features && process.features.typescript);

if (!inCheckout || stripsTypes) {
  await import(inCheckout ? source.href : compiled.href);
} else {
  // once only: a Node 24 started with type stripping turned off must not start itself again and again
  const node = process.env.GREENLIGHT_REEXEC ? null : (toolsNode() ?? bootstrapNode());
  if (!node) {
    console.error(
      `greenlight: this checkout runs on Node.js 24 (this is ${process.version}). Run ./run cli ${process.argv
        .slice(2)
        .join(' ')} once: it fetches Node 24 into .tools/ (needs bash and npm).`,
    );
    process.exit(1);
  }
  const run = spawnSync(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, GREENLIGHT_REEXEC: '1' },
  });
  process.exit(run.status ?? 1);
}

/** The Node 24 that scripts/bootstrap.sh installs: .tools/node/node_modules/node-<os>-<arch>/bin/node. */
function toolsNode() {
  const modules = new URL('.tools/node/node_modules/', root);
  if (!existsSync(modules)) return null;
  for (const name of readdirSync(modules)) {
    const bin = fileURLToPath(new URL(`${name}/bin/node`, modules));
    if (/^node-(linux|darwin)-(x64|arm64)$/.test(name) && existsSync(bin)) return bin;
  }
  return null;
}

/**
 * Runs the bootstrap's Node step (no Redis, no dependencies: npx and npm run have them already), which finds a
 * Node 24 on PATH or installs one into .tools/, and answers its path.
 */
function bootstrapNode() {
  const script = fileURLToPath(new URL('scripts/bootstrap.sh', root));
  if (!existsSync(script)) return null;
  const run = spawnSync(
    'bash',
    ['-c', 'GL_BOOTSTRAP_DEFINE_ONLY=1 . "$0" && gl_ensure_node && command -v node', script],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    },
  );
  const found = run.status === 0 ? run.stdout.trim().split('\n').pop() : '';
  return found ? found : null;
}
