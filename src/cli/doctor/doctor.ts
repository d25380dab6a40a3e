import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../../config/load.ts';
import { WEBHOOK_PATH } from '../../entrypoints/http/gitlab-webhook.ts';
import { EXIT, type CliCommand } from '../io.ts';
import { checkGitLab } from './gitlab.ts';
import { checkRedis } from './redis.ts';
import { fail, formatReport, ok, warn, type Finding, type Section } from './report.ts';
import { checkSlack } from './slack.ts';

/**
 * `greenlight doctor`: checks what the service needs, in the order an operator would fix it, and prints
 * one line per check with a fix for each problem. Exit code 1 when anything failed.
 */
export const doctorCommand: CliCommand = async (argv, io) => {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    io.out(
      'usage: greenlight doctor\n\nChecks configuration, Redis, the ' +
        'GitLab token and the Slack app; prints a fix for each problem.',
    );
    return EXIT.ok;
  }
  let config: Config;
  try {
    config = loadConfig(io.env, undefined, { envFile: io.envFile });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const findings = error.problems.map((p) =>
      fail(p, 'set it in the environment or .env (see docs/configuration.md)'),
    );
    io.out(formatReport([{ title: 'Configuration', findings }]));
    return EXIT.config;
  }
  const sections: Section[] = [{ title: 'Configuration', findings: configFindings(config) }];
  const [redis, gitlab, slack, publicUrl] = await Promise.all([
    checkRedis(config),
    checkGitLab(config),
    checkSlack(config),
    checkPublicUrl(config),
  ]);
  sections.push(
    { title: 'Redis', findings: redis },
    { title: 'GitLab', findings: gitlab },
    { title: 'Slack', findings: slack },
  );
  if (publicUrl.length > 0) sections.push({ title: 'Public URL', findings: publicUrl });
  io.out(formatReport(sections));
  return sections.some((s) => s.findings.some((f) => f.level === 'fail')) ? EXIT.failed : EXIT.ok;
};

function configFindings(config: Config): Finding[] {
  const slack = config.slack.appToken ? 'Slack over Socket Mode' : 'Slack over HTTP (POST /slack/events)';
  const policy = config.configFile
    ? `, policy file ${config.configFile} with ${config.policy.routes.length} ` +
      `route${config.policy.routes.length === 1 ? '' : 's'}`
    : '';
  return [ok(`environment is valid: ${config.gitlab.authMode} mode, ROLE=${config.role}, ${slack}${policy}`)];
}

/**
 * Where GitLab sends webhooks: does greenlight answer there, with this secret? A delivery of an event greenlight
 * does not use is answered "ignored" by greenlight itself (not by a proxy or an ingress that does not route the
 * path), and stores nothing. (Only a warning: greenlight may simply not run yet.)
 */
async function checkPublicUrl(config: Config): Promise<Finding[]> {
  if (!config.publicUrl) return [];
  const url = `${config.publicUrl}${WEBHOOK_PATH}`;
  const route =
    'make sure PUBLIC_URL routes POST /webhooks/gitlab to greenlight (reverse proxy, ingress paths); ' +
    'GitLab sends its webhooks there';
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Gitlab-Event': 'greenlight doctor',
        'X-Gitlab-Token': config.gitlab.webhookSecret,
      },
      body: '{}',
      redirect: 'manual',
      signal: AbortSignal.timeout(3_000),
    });
    const body = (await res.json().catch(() => null)) as { status?: unknown } | null;
    if (res.status === 200 && body?.status === 'ignored') return [ok(`greenlight answers GitLab's webhooks at ${url}`)];
    if (res.status === 401)
      return [
        warn(
          `${url} refuses the webhook secret: another greenlight (or an older setting) answers there`,
          'restart greenlight with this GITLAB_WEBHOOK_SECRET, or check which greenlight PUBLIC_URL reaches',
        ),
      ];
    return [warn(`${url} answered ${res.status}, not as greenlight does`, route)];
  } catch {
    return [warn(`greenlight does not answer at ${url} (not started yet?)`, `start greenlight; ${route}`)];
  }
}
