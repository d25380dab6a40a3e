import type { App, RespondFn } from '@slack/bolt';
import { z } from 'zod';
import type { Clock, Logger } from '../../../core/ports.ts';
import type { Producer } from '../../../adapters/queue/queues.ts';
import { ACTION } from '../../../adapters/slack/ids.ts';
import { BlockActionBody } from '../payloads.ts';

export type SnoozeDeps = { producer: Pick<Producer, 'enqueueSnooze'>; clock: Clock; logger: Logger };

const SnoozeValue = z
  .string()
  .max(500)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'snooze value is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z.object({ d: z.number().int().positive(), p: z.number().int().positive(), s: z.number().int().nonnegative() }),
  );

async function tell(respond: RespondFn | undefined, text: string, logger: Logger): Promise<void> {
  if (!respond) return;
  await respond({ response_type: 'ephemeral', replace_original: false, text }).catch((error: unknown) =>
    logger.warn({ err: (error as Error).message }, 'could not answer a snooze click'),
  );
}

/** "Snooze 1h" on a reminder: acknowledge, parse, enqueue; the nudges worker snoozes and notes it. */
export function registerSnooze(app: App, deps: SnoozeDeps): void {
  app.action(ACTION.snooze, async ({ ack, body, respond }) => {
    await ack();
    const parsed = BlockActionBody.safeParse(body);
    const value = parsed.success ? SnoozeValue.safeParse(parsed.data.actions[0]!.value ?? '') : null;
    if (!parsed.success || !value?.success) {
      deps.logger.warn({ actionId: ACTION.snooze }, 'snooze click with an unusable button value');
      await tell(respond, 'greenlight could not read this Snooze button.', deps.logger);
      return;
    }
    const b = parsed.data;
    try {
      await deps.producer.enqueueSnooze({
        kind: 'snooze',
        ref: { projectId: value.data.p, deploymentId: value.data.d },
        slackUserId: b.user.id,
        ...((b.user.team_id ?? b.team?.id) && { teamId: (b.user.team_id ?? b.team?.id)! }),
        channel: b.channel?.id ?? b.container?.channel_id ?? null,
        reminderSeq: value.data.s,
        requestedAt: deps.clock.now(),
      });
      deps.logger.info({ deploymentId: value.data.d, slackUser: b.user.id }, 'snooze accepted');
    } catch (error) {
      deps.logger.error({ err: (error as Error).message, deploymentId: value.data.d }, 'snooze not enqueued');
      await tell(respond, 'greenlight could not take your click right now. Please try again in a minute.', deps.logger);
    }
  });
}
