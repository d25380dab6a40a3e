import type { CardRecord, IdentityResolution, Logger, SlackUser } from '../ports.ts';
import { mapLimit } from '../../lib/map-limit.ts';

/**
 * Who could see a deployment anyway, outside greenlight: the members of the Slack channel holding its card, and
 * the GitLab users who can read its project. Adapters read both (cached, bounded); the core decides.
 */
export interface VisibilityPort {
  /** Whether the Slack user is a member of the channel (private channels included: the bot is in them). */
  inChannel(channel: string, slackUserId: string): Promise<boolean>;
  /** Whether the GitLab user can read the project, as GitLab defines it (visibility, membership, admins). */
  canReadProject(projectId: number, gitlabUserId: number): Promise<boolean>;
}

/** The person looking: their Slack user, and their GitLab account when greenlight knows it. */
export type Viewer = { slack: SlackUser; gitlabUserId: number | null };

export type VisibilityDeps = { visibility: VisibilityPort; logger: Logger };

/** Where a deployment is shown: its card's channel and its project. */
export type Shown = Pick<CardRecord, 'channel' | 'projectId' | 'deploymentId'>;

const CHECKS_IN_FLIGHT = 6;

/** Who `user` is for visibility: their GitLab account when linked or matched (unlinked: their channels only). */
export function viewerOf(user: SlackUser, resolution: IdentityResolution): Viewer {
  return { slack: user, gitlabUserId: resolution.kind === 'linked' ? resolution.identity.gitlab.id : null };
}

/**
 * The one rule for every surface (the list, the Home tab, DMs, and every button): a deployment is shown to, and
 * acted on by, only someone who could see it anyway — a member of the channel holding its card, or someone whose
 * GitLab account can read the project. A check that fails (Slack or GitLab unavailable) hides it: private
 * channels and projects never leak.
 */
export async function canSee(deps: VisibilityDeps, viewer: Viewer, shown: Shown): Promise<boolean> {
  try {
    if (shown.channel && (await deps.visibility.inChannel(shown.channel, viewer.slack.userId))) return true;
  } catch (error) {
    deps.logger.warn(
      { deploymentId: shown.deploymentId, channel: shown.channel, err: (error as Error).message },
      'channel membership could not be read',
    );
  }
  if (viewer.gitlabUserId === null) return false;
  try {
    return await deps.visibility.canReadProject(shown.projectId, viewer.gitlabUserId);
  } catch (error) {
    deps.logger.warn(
      { deploymentId: shown.deploymentId, projectId: shown.projectId, err: (error as Error).message },
      'project access could not be read',
    );
    return false;
  }
}

/** The records the viewer could see, in their order. */
export async function visibleTo<T extends Shown>(
  deps: VisibilityDeps,
  viewer: Viewer,
  records: readonly T[],
): Promise<T[]> {
  const verdicts = await mapLimit(records, CHECKS_IN_FLIGHT, (record) => canSee(deps, viewer, record));
  return records.filter((_, i) => verdicts[i]);
}
