import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config/load.ts';
import { doctorCommand } from '../cli/doctor/doctor.ts';
import { finishedPage } from './pages.ts';
import { preflight, type PreflightDeps } from './preflight.ts';
import { startSetupServer } from './server.ts';

/**
 * How greenlight gets its configuration at start (main's one call): the environment, checked by loadConfig
 * and by the start-up checks (tokens accepted, REDIS_URL sensible where it runs). When that fails, either
 * greenlight stops with every problem named (ConfigError, exit 78), or, with GREENLIGHT_SETUP=on (`./run start`),
 * it serves the setup page on PORT until the person has fixed it, and then goes on with the new settings.
 */
export type Startup = {
  config: Config;
  /** once greenlight listens: the setup page's last answer (doctor's report); nothing when there was no setup */
  afterStart(): Promise<void>;
};

export type StartupDeps = {
  /** the .env file npm start read, and the setup page writes */
  envFile?: string;
  /** a line for the person at the console */
  print?: (text: string) => void;
  preflight?: PreflightDeps;
};

export async function startupConfig(env: Record<string, string | undefined>, deps: StartupDeps = {}): Promise<Startup> {
  const envFile = deps.envFile ?? '.env';
  const print = deps.print ?? ((text: string) => process.stderr.write(`${text}\n`));
  let problems: string[] = [];
  let config: Config | null = null;
  try {
    config = loadConfig(env, undefined, existsSync(envFile) ? { envFile } : {});
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = [...error.problems];
  }
  if (config) {
    const checked = await preflight(config, deps.preflight);
    for (const warning of checked.warnings) print(`greenlight: ${warning}`);
    problems = checked.problems;
  }
  if (config && problems.length === 0) return { config, afterStart: async () => undefined };
  if (env.GREENLIGHT_SETUP?.trim() !== 'on') throw new ConfigError(problems);

  const port = Number(env.PORT?.trim() || 3000);
  const server = await startSetupServer({
    env,
    problems,
    envFile,
    port: Number.isInteger(port) && port >= 0 && port < 65536 ? port : 3000,
    slackApiUrl: env.SLACK_API_URL?.trim() || 'https://slack.com/api/',
    command: env.SLACK_COMMAND?.trim() || '/deploys',
    print,
  });
  print(
    [
      '',
      `greenlight is not configured yet (${problems.length} problem${problems.length === 1 ? '' : 's'}):`,
      ...problems.map((p) => `  - ${p}`),
      '',
      'Set it up in your browser (the code in the link keeps everybody else out; it changes at every start):',
      `  http://localhost:${server.port}/setup?code=${server.code}`,
      '',
    ].join('\n'),
  );
  const result = await server.finished;
  const configured = loadConfig(result.env);
  print(`greenlight: settings written to ${result.envFile}; starting`);
  return {
    config: configured,
    async afterStart() {
      const out: string[] = [];
      const code = await doctorCommand([], {
        env: result.env,
        out: (text) => out.push(text),
        err: (text) => out.push(text),
      }).catch((error: unknown) => {
        out.push(`doctor failed: ${(error as Error).message}`);
        return 1;
      });
      result.complete(
        finishedPage({
          envFile: result.envFile,
          report: out.join('\n'),
          failed: code !== 0,
          warnings: result.warnings,
          next: nextSteps(configured),
        }),
      );
    },
  };
}

function nextSteps(config: Config): string[] {
  const channel = config.policy.defaults.channel ?? 'the channel';
  return [
    `Start a deployment to a protected environment that requires approval: its card appears in ${channel}.`,
    config.gitlab.authMode === 'sudo'
      ? 'Approvers are matched by e-mail (Slack = GitLab), or list them under users: in a policy file.'
      : `Approvers link their GitLab account once: ${config.slack.command} link in Slack.`,
    'Next time, ./run start starts greenlight directly with these settings.',
  ];
}
