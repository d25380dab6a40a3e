import type { Config } from '../config/load.ts';
import type { ChangesDeps } from '../core/cards/changes-summary.ts';
import type { LinkTarget } from '../core/personal/ports.ts';
import type { NudgeDeps } from '../core/reminders/track-nudges.ts';
import type { VisibilityPort } from '../core/visibility/can-see.ts';
import { createChangesReader } from '../adapters/gitlab/changes-reader.ts';
import { createMembership } from '../adapters/gitlab/membership.ts';
import { createProjectAccess } from '../adapters/gitlab/project-access.ts';
import { createGitLabReader } from '../adapters/gitlab/reader.ts';
import { createProjectDirectoryStore } from '../adapters/redis/project-directory.ts';
import { createGitLabGate } from '../adapters/gitlab/request-budget.ts';
import { createGitLabBudgetStore } from '../adapters/redis/gitlab-budget.ts';
import { createNudgeTimer } from '../adapters/queue/nudge-timer.ts';
import { createAuditLog } from '../adapters/redis/audit-log.ts';
import { createCardStore } from '../adapters/redis/card-store.ts';
import { createChangesStore } from '../adapters/redis/changes-store.ts';
import { createChannelPacer } from '../adapters/redis/channel-pacer.ts';
import { createNudgeStore } from '../adapters/redis/nudge-store.ts';
import { createPendingIndex } from '../adapters/redis/pending-index.ts';
import { createPersonalStore } from '../adapters/redis/personal-store.ts';
import { createChannelMembers } from '../adapters/slack/channel-members.ts';
import { createSlackChat } from '../adapters/slack/chat.ts';
import { createNudgeChat } from '../adapters/slack/nudge-chat.ts';
import { pacePostMessages } from '../adapters/slack/paced-posts.ts';
import { createDirectMessages, createPersonalChat } from '../adapters/slack/personal.ts';
import { createSlackWebClient } from '../adapters/slack/web.ts';
import { createIdentity, createLinkStartFor } from './identity.ts';
import type { Infrastructure } from './infrastructure.ts';
import type { GreenlightOptions } from './options.ts';

export type Adapters = ReturnType<typeof createAdapters>;

/** GitLab, Slack and the Redis stores, wired to the infrastructure; shared by the web and worker roles. */
export function createAdapters(config: Config, infra: Infrastructure, opts: GreenlightOptions) {
  const { redis, keys, clock, logger, metrics } = infra;
  // One request budget per GitLab token, shared by every queue and replica (Redis), asked before every request.
  const gitlabGate = createGitLabGate({
    store: createGitLabBudgetStore(redis, keys, { ...(opts.gitlabBudget?.now && { now: opts.gitlabBudget.now }) }),
    limits: config.gitlab.limits,
    logger,
    observe: metrics.gitlabBudget,
    ...(opts.gitlabBudget?.sleep && { sleep: opts.gitlabBudget.sleep }),
    ...(opts.gitlabBudget?.maxWaitMs !== undefined && { maxWaitMs: opts.gitlabBudget.maxWaitMs }),
  });
  const gitlabConn = { url: config.gitlab.url, token: config.gitlab.token, observe: metrics.api, gate: gitlabGate };
  // Project paths and URLs come from the sweep's listings (kept in Redis), not from a read per scan or card.
  const projectStore = createProjectDirectoryStore(redis, keys);
  const gitlab = createGitLabReader(gitlabConn, { projects: projectStore, now: () => clock.now() });
  const membership = createMembership(gitlabConn);
  // no card claimed after an unnoticed data loss: it may be in Slack already (card-store.ts)
  const cards = createCardStore(redis, keys, { requireDataMarker: true });
  // What a deployment changes (cards, lists, the Changes modal): GitLab reads, ranges kept in Redis.
  const changes: ChangesDeps = {
    source: createChangesReader(gitlabConn, gitlab, { now: () => clock.now() }),
    ranges: createChangesStore(redis, keys),
    clock,
    logger,
  };
  // Every chat.postMessage (cards, reminders, escalations, DMs) is paced per channel across processes.
  const slackClient = pacePostMessages(
    createSlackWebClient({ token: config.slack.botToken, apiUrl: config.slack.apiUrl, observe: metrics.api }),
    createChannelPacer(redis, keys, opts.slackPacing),
    logger,
  );
  // Who could see a deployment anyway: members of its card's channel, people whose GitLab account reads the project.
  const visibility: VisibilityPort = {
    inChannel: createChannelMembers(slackClient).inChannel,
    canReadProject: createProjectAccess(gitlabConn).canReadProject,
  };
  const linkStart = createLinkStartFor({ config, clock });
  const direct = createDirectMessages(slackClient);
  const chat = createSlackChat(slackClient, {
    direct,
    linkUrl: (userId, teamId) => (linkStart && teamId ? linkStart.url({ teamId, userId }) : null),
  });
  const { identity, oauth } = createIdentity({
    config,
    redis,
    keys,
    clock,
    logger,
    conn: gitlabConn,
    linkStart,
    sudo: { gitlab, slack: chat },
  });
  const nudgeStore = createNudgeStore(redis, keys);
  const nudges: NudgeDeps = {
    gitlab,
    cards,
    nudges: nudgeStore,
    timer: createNudgeTimer(infra.queues.nudges, clock),
    chat: createNudgeChat(slackClient),
    identity,
    membership,
    visibility,
    queue: infra.producer,
    policy: config.policy,
    clock,
    logger,
  };
  /** Where the Home tab's Link button points (oauth mode): the same signed start URL as every Link button. */
  const linkTarget: LinkTarget | undefined = linkStart ? async (user) => linkStart.url(user) : undefined;
  return {
    gitlabConn,
    projectStore,
    gitlab,
    membership,
    cards,
    changes,
    slackClient,
    visibility,
    linkStart,
    linkTarget,
    direct,
    chat,
    identity,
    oauth,
    nudgeStore,
    nudges,
    audit: createAuditLog(redis, keys),
    // The list, the Home tab and DMs: open cards from Redis, rule membership from GitLab (cached).
    pendingIndex: createPendingIndex(redis, keys),
    personalStore: createPersonalStore(redis, keys),
    personalChat: createPersonalChat(slackClient, direct),
  };
}
