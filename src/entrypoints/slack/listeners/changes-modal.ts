import type { App } from '@slack/bolt';
import { rangeChanges, type ChangesDeps, type RangeChanges } from '../../../core/cards/changes-summary.ts';
import type { CardStore, Logger } from '../../../core/ports.ts';
import {
  CHANGES_ACTION,
  changesLoadingModal,
  changesModal,
  type ChangesModalInput,
} from '../../../adapters/slack/changes-blocks.ts';
import { parseClick } from '../payloads.ts';

export type ChangesModalDeps = {
  cards: Pick<CardStore, 'get'>;
  /** The kept ranges first; GitLab (greenlight's own token) only when a range is no longer kept. */
  changes: ChangesDeps;
  logger: Logger;
};

/**
 * "Changes" on a card opens the full list: the merge requests and up to 50 commits of the range the card
 * summarises. Normally one Redis read (the range the card's render kept); a range no longer kept opens a
 * "reading" modal at once (the trigger_id lives 3 s) and is read from GitLab, then the modal is updated.
 */
export function registerChangesModal(app: App, deps: ChangesModalDeps): void {
  app.action(CHANGES_ACTION, async ({ ack, body, client }) => {
    await ack();
    const click = parseClick(body);
    if (!click) {
      deps.logger.warn({ actionId: CHANGES_ACTION }, 'click with an unusable button value');
      return;
    }
    const log = deps.logger.child({ deploymentId: click.deploymentId, slackUser: click.userId });
    const record = await deps.cards.get(click.deploymentId).catch(() => null);
    const ready = record && record.projectId === click.projectId && record.changes?.status === 'ready';
    const summary = ready ? (record.changes as ChangesModalInput['summary']) : null;
    const what = record
      ? `${record.snapshot.project.path} → ${record.snapshot.environment.name}`
      : `deployment #${click.deploymentId}`;
    const range = summary?.range ?? null;
    const key = range ? { projectId: click.projectId, from: range.from, to: range.to } : null;
    const kept = key ? await deps.changes.ranges.get(key).catch(() => null) : null;
    try {
      if (kept || !key || !record || !summary) {
        await client.views.open({
          trigger_id: click.triggerId,
          view: changesModal({ what, summary, range: kept }) as never,
        });
        return;
      }
      const opened = await client.views.open({ trigger_id: click.triggerId, view: changesLoadingModal(what) as never });
      const read: RangeChanges | null = await rangeChanges(deps.changes, {
        ...key,
        targetBranch: record.snapshot.ref,
        updatedAfter: summary.current?.commitDate ?? summary.current?.at ?? null,
      }).catch((error: unknown) => {
        log.warn({ err: (error as Error).message }, 'changes not read for the modal');
        return null;
      });
      const viewId = opened.view?.id;
      if (viewId)
        await client.views.update({ view_id: viewId, view: changesModal({ what, summary, range: read }) as never });
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'changes modal did not open');
    }
  });
}
