import { auditCommand } from './audit.ts';
import { doctorCommand } from './doctor/doctor.ts';
import { EXIT, type CliCommand, type CliIo } from './io.ts';
import { webhooksCommand } from './webhooks.ts';

/** Every subcommand of `greenlight <command>`: adding one is one line here. */
export const COMMANDS: Record<string, { summary: string; run: CliCommand }> = {
  doctor: {
    summary: 'check configuration, Redis, the GitLab token and the Slack app, with a fix for each problem',
    run: doctorCommand,
  },
  audit: {
    summary: 'audit [--since 24h] [--until 1h] [--limit N]: the decision audit trail as JSON lines',
    run: auditCommand,
  },
  webhooks: {
    summary: 'webhooks install --project <id|path> | --group <id|path>: create or update the GitLab webhook',
    run: webhooksCommand,
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: greenlight <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'The configuration is read from the environment (and .env in the current directory), as for the service.',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`greenlight: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    io.err(`greenlight ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}
