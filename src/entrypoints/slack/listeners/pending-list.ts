import type { App, RespondArguments } from '@slack/bolt';
import { z } from 'zod';
import { listPending, type ListPendingDeps } from '../../../core/pending/list-pending.ts';
import { parsePendingQuery } from '../../../core/pending/pending-query.ts';
import type { Clock, Logger, SlackUser } from '../../../core/ports.ts';
import { ACTION } from '../../../adapters/slack/ids.ts';
import { LIST_PAGE_SIZE, renderPendingList } from '../../../adapters/slack/pending-blocks.ts';
import type { Subcommand } from './command.ts';

export type PendingListDeps = Omit<ListPendingDeps, 'logger'> & {
  clock: Clock;
  command: string;
  linkMode: 'oauth' | 'sudo';
  help: string;
  logger: Logger;
};

const ListMoreBody = z.object({
  user: z.object({ id: z.string().min(1), team_id: z.string().optional() }),
  team: z.object({ id: z.string().min(1) }).nullish(),
  actions: z.array(z.object({ value: z.string().max(2000) })).min(1),
});
const ListMoreValue = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ q: z.string().max(1000), o: z.number().int().nonnegative() }));

/** One page of the list as an ephemeral answer. */
export async function answerList(
  deps: PendingListDeps,
  input: { user: SlackUser; text: string; offset: number; logger: Logger },
): Promise<RespondArguments> {
  const query = parsePendingQuery(input.text);
  const answer = await listPending(
    { ...deps, logger: input.logger },
    { user: input.user, query, offset: input.offset, limit: LIST_PAGE_SIZE },
  );
  const message = renderPendingList(answer, {
    query,
    now: deps.clock.now(),
    command: deps.command,
    linkMode: deps.linkMode,
    help: deps.help,
  });
  input.logger.info(
    {
      mine: query.mine,
      terms: query.terms.length,
      kind: answer.kind,
      total: answer.kind === 'page' ? answer.total : null,
      offset: input.offset,
    },
    'pending list answered',
  );
  return { text: message.text, blocks: message.blocks as never };
}

/** `/deploys [mine] [words]`: runs after the command's ack (membership reads for `mine` may take a while). */
export function listSubcommand(deps: PendingListDeps): Subcommand {
  return ({ command, text, logger }) =>
    answerList(deps, { user: { teamId: command.team_id, userId: command.user_id }, text, offset: 0, logger });
}

/** "Show more" under the list: the next page replaces the list the person is looking at. */
export function registerPendingList(app: App, deps: PendingListDeps): void {
  app.action(ACTION.listMore, async ({ ack, body, respond }) => {
    await ack();
    const parsed = ListMoreBody.safeParse(body);
    const value = parsed.success ? ListMoreValue.safeParse(parsed.data.actions[0]!.value) : null;
    const logger = deps.logger.child({
      action: ACTION.listMore,
      slackUser: parsed.success ? parsed.data.user.id : undefined,
    });
    if (!parsed.success || !value?.success) {
      logger.warn({}, 'show more with an unusable button value');
      await respond?.({
        response_type: 'ephemeral',
        replace_original: false,
        text: `This list is out of date; type \`${deps.command}\` again.`,
      }).catch(() => undefined);
      return;
    }
    const user = { teamId: parsed.data.team?.id ?? parsed.data.user.team_id ?? '', userId: parsed.data.user.id };
    let reply: RespondArguments;
    try {
      reply = await answerList(deps, { user, text: value.data.q, offset: value.data.o, logger });
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'show more failed');
      reply = { text: ':x: Something went wrong while reading the list. Please try again in a minute.' };
    }
    await respond?.({ response_type: 'ephemeral', replace_original: true, ...reply }).catch((error: unknown) =>
      logger.warn({ err: (error as Error).message }, 'could not show the next page'),
    );
  });
}
