import type { App, RespondFn } from '@slack/bolt';
import type { CardStore, Logger } from '../../../core/ports.ts';
import type { DecisionAction } from '../../../core/approvals/decide-deployment.ts';
import type { Producer } from '../../../adapters/queue/queues.ts';
import { ACTION } from '../../../adapters/slack/ids.ts';
import { rejectModal } from '../../../adapters/slack/reject-modal.ts';
import { parseClick, type Click } from '../payloads.ts';

export type CardActionDeps = { producer: Pick<Producer, 'enqueueDecision'>; cards: Pick<CardStore, 'get'>; logger: Logger };

const UNUSABLE = "greenlight could not read this button. It may come from an old card; use the card's latest version or decide in GitLab.";
const NOT_TAKEN = 'greenlight could not take your click right now (its storage is unavailable). Nothing was recorded; please try again in a minute.';

async function tellQuietly(respond: RespondFn | undefined, text: string, logger: Logger): Promise<void> {
  if (!respond) return;
  await respond({ response_type: 'ephemeral', replace_original: false, text }).catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'could not answer a click'));
}

/**
 * Approve, Run and Reject on cards (and on every list that shows the same buttons). Listeners only
 * acknowledge, parse and enqueue; the decision and every GitLab call happen in the decisions worker.
 */
export function registerCardActions(app: App, deps: CardActionDeps): void {
  const enqueue = async (click: Click, action: DecisionAction, respond: RespondFn | undefined, log: Logger) => {
    try {
      const result = await deps.producer.enqueueDecision({
        ref: { projectId: click.projectId, deploymentId: click.deploymentId },
        slackUser: { teamId: click.teamId, userId: click.userId },
        action,
        channel: click.channel,
        requestedAt: Date.now(),
      });
      log.info({ deploymentId: click.deploymentId, action, slackUser: click.userId, result }, 'click accepted');
    } catch (error) {
      log.error({ err: (error as Error).message, deploymentId: click.deploymentId }, 'click not enqueued');
      await tellQuietly(respond, NOT_TAKEN, log);
    }
  };

  for (const [actionId, action] of [
    [ACTION.approve, 'approve'],
    [ACTION.run, 'run'],
  ] as const) {
    app.action(actionId, async ({ ack, body, respond }) => {
      await ack();
      const click = parseClick(body);
      if (!click) {
        deps.logger.warn({ actionId }, 'click with an unusable button value');
        await tellQuietly(respond, UNUSABLE, deps.logger);
        return;
      }
      await enqueue(click, action, respond, deps.logger);
    });
  }

  app.action(ACTION.reject, async ({ ack, body, client, respond }) => {
    await ack();
    const click = parseClick(body);
    if (!click) {
      await tellQuietly(respond, UNUSABLE, deps.logger);
      return;
    }
    // The modal must open within 3 s of the click (trigger_id expires): one Redis read, no GitLab call.
    const record = await deps.cards.get(click.deploymentId).catch(() => null);
    const summary = record ? `${record.snapshot.project.path} → ${record.snapshot.environment.name} (#${click.deploymentId})` : `deployment #${click.deploymentId}`;
    try {
      await client.views.open({ trigger_id: click.triggerId, view: rejectModal({ d: click.deploymentId, p: click.projectId, c: click.channel, ts: click.messageTs }, summary) as never });
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message, deploymentId: click.deploymentId }, 'reject modal did not open');
      await tellQuietly(respond, 'The rejection form could not be opened (Slack allows 3 seconds). Please click Reject again.', deps.logger);
    }
  });

  // A link button still sends an interaction that must be acknowledged.
  app.action(ACTION.openGitLab, async ({ ack }) => {
    await ack();
  });
  app.action(ACTION.link, async ({ ack }) => {
    await ack();
  });
}
