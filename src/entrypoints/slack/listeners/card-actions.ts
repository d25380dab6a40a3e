import type { App, RespondFn } from '@slack/bolt';
import type { CardRecord, CardStore, Clock, Logger } from '../../../core/ports.ts';
import type { DecisionAction } from '../../../core/approvals/decide-deployment.ts';
import type { Producer } from '../../../adapters/queue/queues.ts';
import { ACTION, APPROVE_AS_PATTERN } from '../../../adapters/slack/ids.ts';
import { approveModal } from '../../../adapters/slack/approve-modal.ts';
import { rejectModal } from '../../../adapters/slack/reject-modal.ts';
import { parseApproveAs, parseClick, type Click } from '../payloads.ts';

export type CardActionDeps = {
  /** when the click happened (the decision window is measured on the same clock) */
  clock: Clock;
  producer: Pick<Producer, 'enqueueDecision'>;
  cards: Pick<CardStore, 'get'>;
  logger: Logger;
};

const UNUSABLE =
  'greenlight could not read this button. It may come from an ' +
  "old card; use the card's latest version or decide in GitLab.";
const NOT_TAKEN =
  'greenlight could not take your click right now (its storage is ' +
  'unavailable). Nothing was recorded; please try again in a minute.';

async function tellQuietly(respond: RespondFn | undefined, text: string, logger: Logger): Promise<void> {
  if (!respond) return;
  await respond({ response_type: 'ephemeral', replace_original: false, text }).catch((error: unknown) =>
    logger.warn({ err: (error as Error).message }, 'could not answer a click'),
  );
}

function summaryOf(record: CardRecord | null, click: Click): string {
  return record
    ? `${record.snapshot.project.path} → ${record.snapshot.environment.name} (#${click.deploymentId})`
    : `deployment #${click.deploymentId}`;
}

/**
 * The rules this clicker could approve for, as the card last rendered them (Redis only: Slack's 3 s).
 * Several: ask which in a modal. Otherwise the decision worker decides from fresh GitLab data, and asks
 * with buttons if it finds several after all (a link made since the card was rendered, say).
 */
function rulesToAsk(record: CardRecord | null, click: Click): string[] {
  if (!record || record.projectId !== click.projectId || record.state !== 'waiting') return [];
  // represented_as matches by name, so rules named alike are one choice.
  return [...new Set((record.openRules ?? []).filter((r) => r.slackUserIds.includes(click.userId)).map((r) => r.name))];
}

/**
 * Approve, Run and Reject on cards (and on every list that shows the same buttons). Listeners only
 * acknowledge, parse and enqueue; the decision and every GitLab call happen in the decisions worker.
 */
export function registerCardActions(app: App, deps: CardActionDeps): void {
  const enqueue = async (
    click: Click,
    action: DecisionAction,
    respond: RespondFn | undefined,
    log: Logger,
    representedAs?: string,
  ): Promise<boolean> => {
    try {
      const result = await deps.producer.enqueueDecision({
        ref: { projectId: click.projectId, deploymentId: click.deploymentId },
        slackUser: { teamId: click.teamId, userId: click.userId },
        action,
        ...(representedAs !== undefined && { representedAs }),
        channel: click.channel,
        requestedAt: deps.clock.now(),
      });
      log.info({ deploymentId: click.deploymentId, action, slackUser: click.userId, result }, 'click accepted');
      return true;
    } catch (error) {
      log.error({ err: (error as Error).message, deploymentId: click.deploymentId }, 'click not enqueued');
      await tellQuietly(respond, NOT_TAKEN, log);
      return false;
    }
  };

  app.action(ACTION.approve, async ({ ack, body, client, respond }) => {
    await ack();
    const click = parseClick(body);
    if (!click) {
      deps.logger.warn({ actionId: ACTION.approve }, 'click with an unusable button value');
      await tellQuietly(respond, UNUSABLE, deps.logger);
      return;
    }
    const record = await deps.cards.get(click.deploymentId).catch(() => null);
    const view = approveModal(
      {
        d: click.deploymentId,
        p: click.projectId,
        c: click.channel,
        ts: click.messageTs,
        r: rulesToAsk(record, click),
      },
      summaryOf(record, click),
    );
    if (view) {
      try {
        await client.views.open({ trigger_id: click.triggerId, view: view as never });
        deps.logger.info(
          { deploymentId: click.deploymentId, slackUser: click.userId },
          'asked which rule to approve for',
        );
        return;
      } catch (error) {
        // The worker asks with buttons instead when it finds several rules.
        deps.logger.warn(
          { err: (error as Error).message, deploymentId: click.deploymentId },
          'approve modal did not open',
        );
      }
    }
    await enqueue(click, 'approve', respond, deps.logger);
  });

  app.action(ACTION.run, async ({ ack, body, respond }) => {
    await ack();
    const click = parseClick(body);
    if (!click) {
      deps.logger.warn({ actionId: ACTION.run }, 'click with an unusable button value');
      await tellQuietly(respond, UNUSABLE, deps.logger);
      return;
    }
    await enqueue(click, 'run', respond, deps.logger);
  });

  // "Approve for <rule>" on the notice that asked which rule: the person already confirmed on the card.
  app.action(APPROVE_AS_PATTERN, async ({ ack, body, respond }) => {
    await ack();
    const choice = parseApproveAs(body);
    if (!choice) {
      deps.logger.warn({ actionId: ACTION.approveAs }, 'click with an unusable button value');
      await tellQuietly(respond, UNUSABLE, deps.logger);
      return;
    }
    if (await enqueue(choice.click, 'approve', respond, deps.logger, choice.representedAs)) {
      // Replace the question so its buttons cannot be pressed again.
      await respond?.({ replace_original: true, text: `Approving for ${choice.representedAs}…` }).catch(
        (error: unknown) => deps.logger.warn({ err: (error as Error).message }, 'could not update the rule question'),
      );
    }
  });

  app.action(ACTION.reject, async ({ ack, body, client, respond }) => {
    await ack();
    const click = parseClick(body);
    if (!click) {
      await tellQuietly(respond, UNUSABLE, deps.logger);
      return;
    }
    // The modal must open within 3 s of the click (trigger_id expires): one Redis read, no GitLab call.
    const record = await deps.cards.get(click.deploymentId).catch(() => null);
    try {
      await client.views.open({
        trigger_id: click.triggerId,
        view: rejectModal(
          { d: click.deploymentId, p: click.projectId, c: click.channel, ts: click.messageTs },
          summaryOf(record, click),
        ) as never,
      });
    } catch (error) {
      deps.logger.warn(
        { err: (error as Error).message, deploymentId: click.deploymentId },
        'reject modal did not open',
      );
      await tellQuietly(
        respond,
        'The rejection form could not be opened (Slack allows 3 seconds). Please click Reject again.',
        deps.logger,
      );
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
