import type { App } from '@slack/bolt';
import type { Clock, Logger } from '../../../core/ports.ts';
import type { Producer } from '../../../adapters/queue/queues.ts';
import { MAX_COMMENT, REASON_INPUT, VIEW } from '../../../adapters/slack/ids.ts';
import { RejectMetadata } from '../payloads.ts';

/** The reason is validated here, in the modal, so GitLab never sees a comment it would refuse. */
export function validateReason(
  raw: string | null | undefined,
): { ok: true; reason: string } | { ok: false; error: string } {
  const reason = (raw ?? '').trim();
  if (reason.length < 3) return { ok: false, error: 'Please give a reason (at least 3 characters).' };
  if (reason.length > MAX_COMMENT)
    return { ok: false, error: `GitLab keeps at most ${MAX_COMMENT} characters; this has ${reason.length}.` };
  return { ok: true, reason };
}

export function registerRejectModal(
  app: App,
  deps: { producer: Pick<Producer, 'enqueueDecision'>; clock: Clock; logger: Logger },
): void {
  app.view(VIEW.rejectModal, async ({ ack, body, view }) => {
    const input = view.state.values[REASON_INPUT.block]?.[REASON_INPUT.action]?.value;
    const checked = validateReason(input);
    if (!checked.ok) {
      await ack({ response_action: 'errors', errors: { [REASON_INPUT.block]: checked.error } });
      return;
    }
    const meta = RejectMetadata.safeParse(view.private_metadata);
    if (!meta.success) {
      deps.logger.warn({ reason: meta.error.issues[0]?.message }, 'reject modal with unusable private_metadata');
      await ack({
        response_action: 'errors',
        errors: { [REASON_INPUT.block]: 'This form is out of date. Close it and click Reject on the card again.' },
      });
      return;
    }
    try {
      // Enqueued before the ack so that a failure can be shown in the form instead of being lost.
      await deps.producer.enqueueDecision({
        ref: { projectId: meta.data.p, deploymentId: meta.data.d },
        slackUser: { teamId: body.team?.id ?? body.user.team_id ?? '', userId: body.user.id },
        action: 'reject',
        comment: checked.reason,
        channel: meta.data.c,
        requestedAt: deps.clock.now(),
      });
    } catch (error) {
      deps.logger.error({ err: (error as Error).message }, 'rejection not enqueued');
      await ack({
        response_action: 'errors',
        errors: {
          [REASON_INPUT.block]:
            'greenlight could not record this right now (storage unavailable). Please try again in a minute.',
        },
      });
      return;
    }
    await ack();
  });
}
