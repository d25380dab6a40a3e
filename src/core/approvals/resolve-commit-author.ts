import type { Deployment } from '../deployments/deployment.ts';
import type { Policy } from '../policy.ts';
import type { GitLabReader, Logger } from '../ports.ts';

/**
 * With `four_eyes.forbid_commit_author`, the GitLab account behind the deployed commit's author e-mail, so that
 * lists of people (the card, reminders) can leave them out as the decision does. One look-up per deployment: a
 * previous read of the same commit is reused. A failed look-up leaves `author` unknown (undefined), never
 * blocks the card; people's own e-mails still refuse them on a click, in `/deploys mine` and for DMs.
 */
export async function resolveCommitAuthor(
  deps: { gitlab: Pick<GitLabReader, 'findUserByEmail'>; policy: Pick<Policy, 'fourEyes'>; logger: Logger },
  deployment: Deployment,
  previous?: Deployment | null,
): Promise<Deployment> {
  const email = deployment.commit.authorEmail;
  if (!deps.policy.fourEyes.forbidCommitAuthor || !email) return deployment;
  const reused = withKnownCommitAuthor(deployment, previous);
  if (reused.commit.author !== undefined) return reused;
  try {
    const author = await deps.gitlab.findUserByEmail(email);
    return { ...deployment, commit: { ...deployment.commit, author } };
  } catch (error) {
    deps.logger.warn(
      { deploymentId: deployment.id, err: (error as Error).message },
      'could not look up the GitLab account of the commit author',
    );
    return deployment;
  }
}

/** `deployment` with the commit author an earlier read of the same commit looked up (if any). */
export function withKnownCommitAuthor(deployment: Deployment, previous: Deployment | null | undefined): Deployment {
  if (deployment.commit.author !== undefined || !previous || previous.commit.author === undefined) return deployment;
  if (previous.sha !== deployment.sha || previous.commit.authorEmail !== deployment.commit.authorEmail)
    return deployment;
  return { ...deployment, commit: { ...deployment.commit, author: previous.commit.author } };
}
