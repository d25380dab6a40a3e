import { fileURLToPath } from 'node:url';

/**
 * Where `node src/main.ts` children keep V8's compiled code between runs (Node's module compile cache). Loading
 * greenlight's ~200 modules costs a start about 0.6 s of CPU, about 0.35 s with this cache: tests that start
 * several processes at once on a busy machine wait for them far less. Inside node_modules, so it is ignored.
 */
export const COMPILE_CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/node-compile', import.meta.url));

/** The environment for a greenlight child process: exactly `env`, plus PATH and the compile cache. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: COMPILE_CACHE_DIR, ...env };
}
