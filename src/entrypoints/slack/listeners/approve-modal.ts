import type { App } from '@slack/bolt';
import type { Clock, Logger } from '../../../core/ports.ts';
import type { Producer } from '../../../adapters/queue/queues.ts';
import { COMMENT_INPUT, MAX_COMMENT, RULE_INPUT, VIEW } from '../../../adapters/slack/ids.ts';
import { ApproveMetadata } from '../payloads.ts';

/**
 * The approve modal (several rules fit the approver): enqueue the approval with the chosen rule as
 * represented_as and the optional comment. Problems show in the form, so nothing is lost silently.
 */
export function registerApproveModal(
  app: App,
  deps: { producer: Pick<Producer, 'enqueueDecision'>; clock: Clock; logger: Logger },
): void {
  app.view(VIEW.approveModal, async ({ ack, body, view }) => {
    const meta = ApproveMetadata.safeParse(view.private_metadata);
    if (!meta.success) {
      deps.logger.warn({ reason: meta.error.issues[0]?.message }, 'approve modal with unusable private_metadata');
      await ack({
        response_action: 'errors',
        errors: { [RULE_INPUT.block]: 'This form is out of date. Close it and click Approve on the card again.' },
      });
      return;
    }
    const picked = view.state.values[RULE_INPUT.block]?.[RULE_INPUT.action]?.selected_option?.value;
    const rule = picked === undefined || picked === null ? undefined : meta.data.r[Number(picked)];
    if (rule === undefined) {
      await ack({ response_action: 'errors', errors: { [RULE_INPUT.block]: 'Pick the rule you approve for.' } });
      return;
    }
    const comment = (view.state.values[COMMENT_INPUT.block]?.[COMMENT_INPUT.action]?.value ?? '').trim();
    if (comment.length > MAX_COMMENT) {
      await ack({
        response_action: 'errors',
        errors: {
          [COMMENT_INPUT.block]: `GitLab keeps at most ${MAX_COMMENT} characters; this has ${comment.length}.`,
        },
      });
      return;
    }
    try {
      await deps.producer.enqueueDecision({
        ref: { projectId: meta.data.p, deploymentId: meta.data.d },
        slackUser: { teamId: body.team?.id ?? body.user.team_id ?? '', userId: body.user.id },
        action: 'approve',
        representedAs: rule,
        ...(comment !== '' && { comment }),
        channel: meta.data.c,
        requestedAt: deps.clock.now(),
      });
    } catch (error) {
      deps.logger.error({ err: (error as Error).message }, 'approval not enqueued');
      await ack({
        response_action: 'errors',
        errors: {
          [RULE_INPUT.block]:
            'greenlight could not record this right now (storage unavailable). Please try again in a minute.',
        },
      });
      return;
    }
    deps.logger.info({ deploymentId: meta.data.d, slackUser: body.user.id }, 'approval with a chosen rule accepted');
    await ack();
  });
}
