import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runGreenlight } from '../helpers/cli.ts';
import { renderManifests } from '../helpers/helm-template.ts';
import { oauthEnv } from '../helpers/oauth.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { startWorld, type World } from '../helpers/world.ts';

const CHART = fileURLToPath(new URL('../../charts/greenlight', import.meta.url));
/** Served on the http port for probes and Prometheus inside the cluster, never through the ingress. */
const INTERNAL = ['/healthz', '/readyz', '/metrics'];

/**
 * The Helm chart's ingress exposes exactly the routes the web role serves to GitLab, Slack and browsers: the
 * list is compared with the routes of a running app in oauth mode (the mode with the most routes), so that a
 * new route cannot be forgotten in the chart again (the Link button's /oauth/gitlab/start once was).
 */
describe('public routes', () => {
  let world: World;
  let app: TestApp;
  let env: Record<string, string>;
  beforeAll(async () => {
    world = await startWorld();
    env = oauthEnv(world);
    app = await startTestApp({ env: { ...env, ROLE: 'web' }, name: 'public-routes' });
  });
  afterAll(async () => {
    await app?.stop();
    await world?.close();
  });

  it('are exactly the Helm ingress paths (everything but health and metrics)', () => {
    const served = [...new Set(app.app.routes().map((r) => r.path))];
    expect(served).toEqual(expect.arrayContaining(INTERNAL));
    const publicRoutes = served.filter((p) => !INTERNAL.includes(p)).sort();
    const [ingress] = renderManifests(
      CHART,
      {
        existingSecret: 's',
        config: { publicUrl: 'https://gl.acme.test', slackChannel: 'C0123DEPLOY' },
        ingress: { enabled: true },
      },
      { name: 'greenlight' },
    ).filter((d) => d.kind === 'Ingress') as Array<{
      spec: { rules: Array<{ http: { paths: Array<{ path: string; pathType: string }> } }> };
    }>;
    const paths = ingress!.spec.rules[0]!.http.paths;
    expect(paths.map((p) => p.path).sort()).toEqual(publicRoutes);
    expect(paths.every((p) => p.pathType === 'Exact')).toBe(true);
  });

  it('each answers as greenlight, not 404', async () => {
    for (const route of app.app.routes().filter((r) => !INTERNAL.includes(r.path))) {
      const res = await fetch(`${app.url}${route.path}`, { method: route.method, redirect: 'manual' });
      expect(res.status, `${route.method} ${route.path}`).not.toBe(404);
    }
  });

  it("doctor checks PUBLIC_URL with greenlight's webhook route, not /healthz (no ingress has it)", async () => {
    const cli = { ...env, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: app.prefix };
    const reached = await runGreenlight(['doctor'], { ...cli, PUBLIC_URL: app.url });
    expect(reached.out).toMatch(
      /\[ok\] +greenlight answers GitLab's webhooks at http:\/\/127\.0\.0\.1:\d+\/webhooks\/gitlab/,
    );
    // an ingress that routes only /webhooks/gitlab (and not /healthz) still passes
    expect(reached.out).not.toMatch(/healthz/);
    const wrongSecret = await runGreenlight(['doctor'], {
      ...cli,
      PUBLIC_URL: app.url,
      GITLAB_WEBHOOK_SECRET: 'another-secret-0123456789',
    });
    expect(wrongSecret.out).toMatch(/\[warn\] .*refuses the webhook secret/);
  });
});
