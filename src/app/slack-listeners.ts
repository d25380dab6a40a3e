import type { App } from '@slack/bolt';
import type { Config } from '../config/load.ts';
import { accountSubcommands } from '../entrypoints/slack/listeners/account-commands.ts';
import { registerApproveModal } from '../entrypoints/slack/listeners/approve-modal.ts';
import { registerCardActions } from '../entrypoints/slack/listeners/card-actions.ts';
import { registerChangesModal } from '../entrypoints/slack/listeners/changes-modal.ts';
import { helpText, registerCommand } from '../entrypoints/slack/listeners/command.ts';
import { registerHome } from '../entrypoints/slack/listeners/home.ts';
import {
  listSubcommand,
  registerPendingList,
  type PendingListDeps,
} from '../entrypoints/slack/listeners/pending-list.ts';
import { registerRejectModal } from '../entrypoints/slack/listeners/reject-modal.ts';
import { registerSnooze } from '../entrypoints/slack/listeners/snooze.ts';
import type { Adapters } from './adapters.ts';
import type { Infrastructure } from './infrastructure.ts';

/** Every Slack listener, by surface: cards and their modals, the slash command and its list, the Home tab. */
export function registerSlackListeners(bolt: App, config: Config, infra: Infrastructure, a: Adapters): void {
  const { producer, logger, clock } = infra;
  const { command } = config.slack;
  // cards
  registerCardActions(bolt, { producer, cards: a.cards, clock, logger });
  registerRejectModal(bolt, { producer, clock, logger });
  registerApproveModal(bolt, { producer, clock, logger });
  registerChangesModal(bolt, { cards: a.cards, changes: a.changes, logger });
  registerSnooze(bolt, { producer, clock, logger });
  // the list and the slash command
  const list: PendingListDeps = {
    index: a.pendingIndex,
    identity: a.identity,
    membership: a.membership,
    policy: config.policy,
    visibility: a.visibility,
    clock,
    command,
    linkMode: a.identity.linkHint,
    help: helpText(command),
    logger,
  };
  registerPendingList(bolt, list);
  const { linkStart, oauth } = a;
  registerCommand(bolt, {
    command,
    logger,
    subcommands: accountSubcommands({
      command,
      identity: a.identity,
      oauth: oauth && linkStart ? { linkUrl: (user) => linkStart.url(user), identity: oauth } : null,
    }),
    list: listSubcommand(list),
  });
  // the Home tab
  registerHome(bolt, { store: a.personalStore, producer: infra.personal, clock, logger });
  bolt.error(async (error) => {
    logger.error({ err: error.message }, 'slack listener failed');
  });
}
