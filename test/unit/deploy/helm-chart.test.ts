import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { envVars } from '../../../src/config/env-schema.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { helmTemplate, renderManifests } from '../../helpers/helm-template.ts';

/**
 * helm is not installable here (neither the npm registry nor Debian packages it), so the chart is rendered by
 * test/helpers/helm-template.ts and the manifests are checked for what Kubernetes and greenlight need.
 */
const CHART = fileURLToPath(new URL('../../../charts/greenlight', import.meta.url));

// rendered manifests, checked field by field below
type K8s = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, checked field by field below
  spec: any;
  data?: Record<string, string>;
};
/** The values every installation sets (the chart refuses to render without them). */
const REQUIRED = {
  existingSecret: 'greenlight-secrets',
  config: { publicUrl: 'https://gl.acme.test', slackChannel: 'C0123DEPLOY' },
};
const render = (values: Record<string, unknown> = {}, release = 'gl') =>
  renderManifests(CHART, { ...REQUIRED, ...values }, { name: release }) as K8s[];
const find = (docs: K8s[], kind: string, name?: string) =>
  docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
const container = (d: K8s) => d.spec.template.spec.containers[0];
const envOf = (d: K8s) =>
  Object.fromEntries((container(d).env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('Helm chart charts/greenlight', () => {
  it('is a v2 chart whose appVersion is the package version', () => {
    const chart = parseYaml(readFileSync(`${CHART}/Chart.yaml`, 'utf8')) as {
      apiVersion: string;
      name: string;
      appVersion: string;
    };
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'greenlight', appVersion: pkg.version });
  });

  it('renders web and worker Deployments with probes, the http port, the role and secrets from the Secret', () => {
    const docs = render();
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'Deployment/gl-greenlight-web',
      'Deployment/gl-greenlight-worker',
      'PodDisruptionBudget/gl-greenlight-web',
      'PodDisruptionBudget/gl-greenlight-worker',
      'Service/gl-greenlight',
    ]);
    for (const role of ['web', 'worker']) {
      const [deployment] = find(docs, 'Deployment', `gl-greenlight-${role}`);
      expect(deployment!.apiVersion).toBe('apps/v1');
      expect(deployment!.spec.replicas).toBe(2);
      expect(matches(deployment!.spec.selector.matchLabels, deployment!.spec.template.metadata.labels)).toBe(true);
      expect(deployment!.spec.template.metadata.labels['app.kubernetes.io/component']).toBe(role);
      const c = container(deployment!);
      expect(c.image).toBe('greenlight:0.1.0');
      expect(c.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.envFrom).toEqual([{ secretRef: { name: 'greenlight-secrets' } }]);
      expect(envOf(deployment!)).toMatchObject({
        ROLE: role,
        PORT: '3000',
        REDIS_URL: 'redis://redis:6379',
        REDIS_MODE: 'standalone',
        GITLAB_AUTH_MODE: 'oauth',
      });
      // a container restarted in its pod resumes its own unfinished jobs at once (src/adapters/queue/reclaim.ts)
      expect(c.env).toContainEqual({ name: 'REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(deployment!.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(c.resources.requests).toBeDefined();
      // longer than the 25 s greenlight takes at most to drain on SIGTERM
      expect(deployment!.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(25);
      expect(deployment!.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '3000',
        'prometheus.io/path': '/metrics',
      });
    }
  });

  it('sets only environment variables greenlight knows', () => {
    const docs = render({ policy: 'channel: C0123DEPLOY\n' });
    for (const deployment of find(docs, 'Deployment'))
      for (const name of Object.keys(envOf(deployment))) expect(Object.keys(envVars)).toContain(name);
  });

  it('routes the Service to web pods only, and the Ingress only to the public endpoints', () => {
    const docs = render({
      ingress: {
        enabled: true,
        className: 'nginx',
        host: 'gl.acme.test',
        tls: [{ secretName: 'gl-tls', hosts: ['gl.acme.test'] }],
      },
    });
    const [service] = find(docs, 'Service');
    const [web] = find(docs, 'Deployment', 'gl-greenlight-web');
    const [worker] = find(docs, 'Deployment', 'gl-greenlight-worker');
    expect(matches(service!.spec.selector, web!.spec.template.metadata.labels)).toBe(true);
    expect(matches(service!.spec.selector, worker!.spec.template.metadata.labels)).toBe(false);
    expect(service!.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    const [ingress] = find(docs, 'Ingress');
    expect(ingress!.apiVersion).toBe('networking.k8s.io/v1');
    expect(ingress!.spec.ingressClassName).toBe('nginx');
    expect(ingress!.spec.tls).toEqual([{ secretName: 'gl-tls', hosts: ['gl.acme.test'] }]);
    const [rule] = ingress!.spec.rules;
    expect(rule.host).toBe('gl.acme.test');
    // the paths themselves are checked against the app's routes in test/e2e/public-routes.test.ts
    expect(rule.http.paths.map((p: { path: string }) => p.path)).toContain('/oauth/gitlab/start');
    for (const p of rule.http.paths)
      expect(p.backend.service).toEqual({ name: service!.metadata.name, port: { name: 'http' } });
  });

  it('believes X-Forwarded-For from the ingress controller only when the ingress is on (TRUSTED_PROXIES)', () => {
    const without = find(render({}), 'Deployment', 'gl-greenlight-web')[0]!;
    expect(envOf(without).TRUSTED_PROXIES).toBeUndefined();
    const withIngress = find(render({ ingress: { enabled: true } }), 'Deployment', 'gl-greenlight-web')[0]!;
    expect(envOf(withIngress).TRUSTED_PROXIES).toBe('10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7');
    const narrowed = find(
      render({ ingress: { enabled: true }, config: { ...REQUIRED.config, trustedProxies: '10.42.0.0/16' } }),
      'Deployment',
      'gl-greenlight-web',
    )[0]!;
    expect(envOf(narrowed).TRUSTED_PROXIES).toBe('10.42.0.0/16');
    // what the chart sets is what greenlight accepts
    const minimal = {
      GITLAB_TOKEN: 't',
      GITLAB_WEBHOOK_SECRET: 'secret-0123456789abcdef',
      GITLAB_AUTH_MODE: 'sudo',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      SLACK_CHANNEL: 'C0123DEPLOY',
    };
    expect(loadConfig({ ...minimal, TRUSTED_PROXIES: envOf(withIngress).TRUSTED_PROXIES }).trustedProxies).toHaveLength(
      4,
    );
  });

  it('scales with HPAs (replicas then left to them) and keeps pods with PodDisruptionBudgets', () => {
    const docs = render({
      web: { autoscaling: { enabled: true } },
      worker: { autoscaling: { enabled: true, maxReplicas: 12 } },
    });
    for (const role of ['web', 'worker']) {
      const [hpa] = find(docs, 'HorizontalPodAutoscaler', `gl-greenlight-${role}`);
      const [deployment] = find(docs, 'Deployment', `gl-greenlight-${role}`);
      expect(hpa!.apiVersion).toBe('autoscaling/v2');
      expect(hpa!.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment!.metadata.name,
      });
      expect(hpa!.spec.metrics[0].resource).toEqual({
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: 70 },
      });
      expect(deployment!.spec.replicas).toBeUndefined();
      const [pdb] = find(docs, 'PodDisruptionBudget', `gl-greenlight-${role}`);
      expect(pdb!.apiVersion).toBe('policy/v1');
      expect(pdb!.spec.minAvailable).toBe(1);
      expect(matches(pdb!.spec.selector.matchLabels, deployment!.spec.template.metadata.labels)).toBe(true);
    }
    expect(find(docs, 'HorizontalPodAutoscaler', 'gl-greenlight-worker')[0]!.spec.maxReplicas).toBe(12);
    expect(
      find(render({ web: { podDisruptionBudget: { enabled: false } } }), 'PodDisruptionBudget').map(
        (d) => d.metadata.name,
      ),
    ).toEqual(['gl-greenlight-worker']);
  });

  it('mounts the policy file from a ConfigMap and restarts pods when it changes', () => {
    const policy = 'channel: C0123DEPLOY\nreminders: { after: 30m, every: 1h, max: 3 }\n';
    const docs = render({ policy });
    const [configMap] = find(docs, 'ConfigMap', 'gl-greenlight-policy');
    expect(parseYaml(configMap!.data!['policy.yml']!)).toEqual(parseYaml(policy));
    for (const deployment of find(docs, 'Deployment')) {
      expect(envOf(deployment).CONFIG_FILE).toBe('/etc/greenlight/policy.yml');
      expect(container(deployment).volumeMounts).toContainEqual({
        name: 'policy',
        mountPath: '/etc/greenlight',
        readOnly: true,
      });
      expect(deployment.spec.template.spec.volumes).toContainEqual({
        name: 'policy',
        configMap: { name: 'gl-greenlight-policy' },
      });
    }
    const checksum = (p: string) =>
      find(render({ policy: p }), 'Deployment')[0]!.spec.template.metadata.annotations['checksum/policy'];
    expect(checksum(policy)).not.toBe(checksum(`${policy}four_eyes: { forbid_commit_author: true }\n`));
  });

  it('passes Redis Cluster, extra env and image settings through', () => {
    const docs = render({
      redis: { url: 'rediss://a:6379,rediss://b:6379', mode: 'cluster' },
      extraEnv: { SLACK_API_URL: 'https://proxy.acme.test/api/' },
      image: { repository: 'registry.acme.test/greenlight', tag: '1.2.3' },
    });
    const [worker] = find(docs, 'Deployment', 'gl-greenlight-worker');
    expect(envOf(worker!)).toMatchObject({
      REDIS_URL: 'rediss://a:6379,rediss://b:6379',
      REDIS_MODE: 'cluster',
      SLACK_API_URL: 'https://proxy.acme.test/api/',
    });
    expect(container(worker!).image).toBe('registry.acme.test/greenlight:1.2.3');
  });

  it('refuses to render without the Secret', () => {
    expect(() => helmTemplate(CHART, { config: REQUIRED.config })).toThrow(/required: existingSecret/);
  });

  it('requires the public URL and a card channel when rendering, not as a crash-looping pod', () => {
    const without =
      (config: Record<string, unknown>, policy = '') =>
      () =>
        helmTemplate(CHART, { existingSecret: 's', config, policy });
    expect(without({ slackChannel: 'C0123DEPLOY' })).toThrow(/required: config\.publicUrl/);
    expect(without({ publicUrl: 'https://gl.acme.test' })).toThrow(/fail: config\.slackChannel/);
    // the policy file's channel is enough
    expect(without({ publicUrl: 'https://gl.acme.test' }, 'channel: C0POLICY1\n')).not.toThrow();
  });

  it('lets a REDIS_URL in existingSecret win: no REDIS_URL of its own when redis.url is empty', () => {
    for (const deployment of find(render({ redis: { url: '' } }), 'Deployment')) {
      expect(envOf(deployment)).not.toHaveProperty('REDIS_URL');
      expect(container(deployment).envFrom).toEqual([{ secretRef: { name: 'greenlight-secrets' } }]);
    }
  });

  it('names objects after the release, without greenlight-greenlight-', () => {
    const names = (release: string) => render({}, release).map((d) => `${d.kind}/${d.metadata.name}`);
    expect(names('greenlight')).toContain('Deployment/greenlight-web');
    expect(names('greenlight').some((n) => n.includes('greenlight-greenlight'))).toBe(false);
    expect(names('prod-greenlight')).toContain('Service/prod-greenlight');
    expect(names('gl')).toContain('Deployment/gl-greenlight-worker');
  });
});
