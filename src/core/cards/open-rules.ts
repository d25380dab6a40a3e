import { whoCanStillApprove, type MembershipPort } from '../approvals/eligible-approvers.ts';
import type { Policy } from '../policy.ts';
import { ruleProgress, type ApprovalRule, type Deployment, type GitLabUser } from '../deployments/deployment.ts';
import type { Logger } from '../ports.ts';
import type { OpenRule, PeopleDirectory, Person } from './card-model.ts';

/**
 * People looked up per card at most. A card mentions a handful of people, not a whole group, and each
 * look-up may cost a GitLab and a Slack call the first time (the identity adapter caches them).
 */
export const MAX_PEOPLE_LOOKED_UP = 20;

/**
 * The rules that still need approvals and who could still give them, for the card (and for reminders).
 * A rule whose members cannot be read (GitLab refused, or no membership port) is shown without people
 * rather than failing the card: the count of what is missing is still true.
 */
export async function describeOpenRules(
  deps: { membership?: MembershipPort; policy: Pick<Policy, 'fourEyes'>; people: PeopleDirectory; logger: Logger },
  deployment: Deployment,
): Promise<OpenRule[]> {
  const open = ruleProgress(deployment).filter((p) => !p.satisfied);
  if (open.length === 0) return [];
  const membership = deps.membership;
  if (!membership)
    return open.map((p) => ({
      name: p.rule.name,
      missing: p.required - p.approved,
      people: [],
      more: 0,
      known: false,
    }));

  const unreadable = new Set<ApprovalRule>();
  const tolerant: MembershipPort = {
    ruleMembers: (projectId, rule) =>
      membership.ruleMembers(projectId, rule).catch((error: unknown) => {
        unreadable.add(rule);
        deps.logger.warn(
          { deploymentId: deployment.id, rule: rule.name, err: (error as Error).message },
          'could not read who can approve a rule',
        );
        return [];
      }),
  };
  const missing = await whoCanStillApprove({ membership: tolerant, policy: deps.policy }, deployment);

  const chosen = new Map<number, GitLabUser>();
  for (const m of missing)
    for (const u of m.people) if (chosen.size < MAX_PEOPLE_LOOKED_UP && !chosen.has(u.id)) chosen.set(u.id, u);
  const looked = new Map<number, Person>(
    await Promise.all([...chosen.values()].map(async (u) => [u.id, await deps.people(u)] as const)),
  );

  return missing.map((m) => {
    const people = m.people.flatMap((u) => looked.get(u.id) ?? []);
    return {
      name: m.rule.name,
      missing: m.missing,
      people,
      more: m.people.length - people.length,
      known: !unreadable.has(m.rule),
    };
  });
}
