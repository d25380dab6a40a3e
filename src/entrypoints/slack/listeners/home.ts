import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { PersonalStore } from '../../../core/personal/ports.ts';
import type { Clock, Logger } from '../../../core/ports.ts';
import type { PersonalProducer } from '../../../adapters/queue/personal-queue.ts';
import { ACTION } from '../../../adapters/slack/ids.ts';

export type HomeListenerDeps = {
  store: Pick<PersonalStore, 'noteHomeOpened' | 'setDmEnabled'>;
  producer: Pick<PersonalProducer, 'refreshHome'>;
  clock: Clock;
  logger: Logger;
};

const HomeOpened = z.object({
  type: z.literal('app_home_opened'),
  user: z.string().min(1),
  tab: z.string().optional(),
});
const ToggleBody = z.object({
  user: z.object({ id: z.string().min(1), team_id: z.string().optional() }),
  team: z.object({ id: z.string().min(1) }).nullish(),
  actions: z.array(z.object({ value: z.enum(['on', 'off']) })).min(1),
});

/**
 * The Home tab: opening it remembers the person (their tab is then refreshed when deployments change) and
 * asks a worker to publish it; the DM setting is stored and the tab re-published. Slack acks events itself.
 */
export function registerHome(app: App, deps: HomeListenerDeps): void {
  app.event('app_home_opened', async ({ event, body, context }) => {
    const parsed = HomeOpened.safeParse(event);
    if (!parsed.success || (parsed.data.tab !== undefined && parsed.data.tab !== 'home')) return;
    const user = { teamId: context.teamId ?? (body as { team_id?: string }).team_id ?? '', userId: parsed.data.user };
    const log = deps.logger.child({ event: 'app_home_opened', slackUser: user.userId });
    try {
      await deps.store.noteHomeOpened(user, deps.clock.now());
      await deps.producer.refreshHome(user);
      log.debug({}, 'home tab requested');
    } catch (error) {
      log.error({ err: (error as Error).message }, 'home tab not requested');
    }
  });

  app.action(ACTION.homeDmToggle, async ({ ack, body }) => {
    await ack();
    const parsed = ToggleBody.safeParse(body);
    if (!parsed.success) {
      deps.logger.warn({ action: ACTION.homeDmToggle }, 'DM setting click with an unusable value');
      return;
    }
    const user = { teamId: parsed.data.team?.id ?? parsed.data.user.team_id ?? '', userId: parsed.data.user.id };
    const on = parsed.data.actions[0]!.value === 'on';
    const log = deps.logger.child({ action: ACTION.homeDmToggle, slackUser: user.userId });
    try {
      await deps.store.setDmEnabled(user, on);
      await deps.producer.refreshHome(user);
      log.info({ on }, 'DM setting changed');
    } catch (error) {
      // The tab still shows the old setting, which is the truth: nothing was stored.
      log.error({ err: (error as Error).message }, 'DM setting not stored');
    }
  });
}
