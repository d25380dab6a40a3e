import type { App, RespondArguments, SlashCommand } from '@slack/bolt';
import type { Logger } from '../../../core/ports.ts';

export type CommandContext = { command: SlashCommand; args: string[]; text: string; logger: Logger };
export type CommandReply = RespondArguments | string;

/** A subcommand answers within Slack's 3 s by returning its reply; slow work happens after the ack. */
export type Subcommand = (ctx: CommandContext) => Promise<CommandReply>;

export type CommandDeps = {
  command: string;
  logger: Logger;
  subcommands: Partial<Record<'help' | 'link' | 'unlink' | 'whoami', Subcommand>>;
  /** everything that is not a subcommand: the list of pending deployments (with filters) */
  list: Subcommand;
};

export function helpText(command: string): string {
  return [
    `*${command}* — deployments waiting for approval`,
    `• \`${command}\` — everything that waits, newest first`,
    `• \`${command} mine\` — what waits for *your* approval`,
    `• \`${command} <text>\` — filter by project, environment or ` +
      `tier (e.g. \`${command} production\`, \`${command} acme/web\`)`,
    `• \`${command} link\` / \`unlink\` — connect or disconnect your GitLab account`,
    `• \`${command} whoami\` — which GitLab account greenlight uses for you`,
    `• \`${command} help\` — this help`,
  ].join('\n');
}

export function registerCommand(app: App, deps: CommandDeps): void {
  app.command(deps.command, async ({ ack, command, respond }) => {
    // Acknowledge at once (empty body: Slack shows nothing), then answer through response_url.
    await ack();
    const text = command.text.trim();
    const args = text.split(/\s+/).filter(Boolean);
    const sub = (args[0] ?? '').toLowerCase();
    const handler =
      sub === 'help'
        ? (deps.subcommands.help ?? (async () => helpText(deps.command)))
        : deps.subcommands[sub as 'link' | 'unlink' | 'whoami'];
    const logger = deps.logger.child({
      command: deps.command,
      sub: handler ? sub : 'list',
      slackUser: command.user_id,
    });
    let reply: CommandReply;
    try {
      reply = handler
        ? await handler({ command, args: args.slice(1), text, logger })
        : await deps.list({ command, args, text, logger });
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'slash command failed');
      reply = ':x: Something went wrong while answering. Please try again in a minute.';
    }
    const message: RespondArguments = typeof reply === 'string' ? { text: reply } : reply;
    await respond({ response_type: 'ephemeral', ...message }).catch((error: unknown) =>
      logger.warn({ err: (error as Error).message }, 'could not answer the slash command'),
    );
  });
}
