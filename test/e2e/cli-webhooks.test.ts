import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGreenlight } from '../helpers/cli.ts';
import { startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

const BIN = fileURLToPath(new URL('../../bin/greenlight.js', import.meta.url));

describe('greenlight webhooks install', () => {
  let world: World;
  let env: Record<string, string>;
  beforeAll(async () => {
    world = await startWorld();
    env = { ...world.env, PUBLIC_URL: 'https://greenlight.acme.test' };
  });
  afterAll(async () => {
    await world?.close();
  });

  /** The fake numbers hooks from 1. */
  const hooksOf = (projectId: number) =>
    Array.from({ length: 100 }, (_, i) => world.gitlab.getHook(i + 1)).filter(
      (h) => h?.container.kind === 'project' && h.container.projectId === projectId,
    );

  it('creates the project webhook with URL, secret and the three event kinds, then only updates it', async () => {
    const first = await runGreenlight(['webhooks', 'install', '--project', 'acme/web'], env);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(
      /^project acme\/web: created webhook #\d+ → https:\/\/greenlight\.acme\.test\/webhooks\/gitlab/,
    );
    const [hook] = hooksOf(world.project.id);
    expect(hook).toMatchObject({
      url: 'https://greenlight.acme.test/webhooks/gitlab',
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
      pushEvents: false,
      enableSslVerification: true,
    });

    // the secret was rotated: running again updates the hook, never duplicates it
    const rotated = { ...env, GITLAB_WEBHOOK_SECRET: 'rotated-secret-0123456789' };
    const again = await runGreenlight(['webhooks', 'install', '--project', String(world.project.id)], rotated);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`^project ${world.project.id}: updated webhook #${hook!.id} `));
    expect(hooksOf(world.project.id)).toHaveLength(1);
    expect(world.gitlab.getHook(hook!.id)!.token).toBe('rotated-secret-0123456789');
    const puts = world.gitlab.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/hooks/${hook!.id}`));
    expect(puts).toHaveLength(1);
  });

  it('installs a group webhook, with --url instead of PUBLIC_URL', async () => {
    const run = await runGreenlight(
      ['webhooks', 'install', '--group', 'acme', '--url', 'https://hooks.acme.test/webhooks/gitlab'],
      world.env,
    );
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^group acme: created webhook #(\d+) → https:\/\/hooks\.acme\.test\/webhooks\/gitlab/);
    const id = Number(/#(\d+)/.exec(run.out)![1]);
    expect(world.gitlab.getHook(id)).toMatchObject({
      container: { kind: 'group' },
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
      token: WEBHOOK_SECRET,
    });
  });

  it('explains what the token lacks, and which project was not found', async () => {
    const outsider = world.gitlab.addUser({ username: 'outsider' });
    world.gitlab.addToken({ token: 'glpat-outsider-000000001', userId: outsider.id, scopes: ['api'] });
    world.gitlab.addProjectMember(world.project.id, outsider.id, 30); // Developer: may not manage hooks
    const denied = await runGreenlight(['webhooks', 'install', '--project', 'acme/web', '--project', 'acme/nothing'], {
      ...env,
      GITLAB_TOKEN: 'glpat-outsider-000000001',
    });
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(
      /project acme\/web: could not list its webhooks: 403 .*\n {2}fix: the token needs the api scope and its user must be Maintainer of the project/,
    );
    expect(denied.err).toMatch(
      /project acme\/nothing: could not list its webhooks: 404 .*\n {2}fix: no project "acme\/nothing" is visible to the token/,
    );
  });

  it('needs a target and a URL', async () => {
    expect((await runGreenlight(['webhooks', 'install'], env)).code).toBe(2);
    const noUrl = await runGreenlight(['webhooks', 'install', '--project', 'acme/web'], world.env);
    expect(noUrl.code).toBe(2);
    expect(noUrl.err).toMatch(/set PUBLIC_URL .* or pass --url/);
    const unknown = await runGreenlight(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "frobnicate"[\s\S]*doctor[\s\S]*webhooks/);
  });

  it('runs as the greenlight binary (bin/greenlight.js)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [BIN, 'webhooks', 'install', '--project', 'acme/web'],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        timeout: 15_000,
      },
    );
    expect(stdout).toMatch(/^project acme\/web: updated webhook #\d+/);
  });
});
