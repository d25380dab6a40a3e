import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../../test/helpers/world.ts';

/**
 * C channels; deployment i goes to environment `prod-<i mod C>-<i>`, routed by the policy file to channel i mod C.
 * One environment per deployment: a newer deployment to the same environment supersedes an older one.
 */
export const channelId = (k: number) => `C0BENCH${String(k).padStart(4, '0')}`;
export { WEBHOOK_SECRET };
/** where cards go when no route matches (SLACK_CHANNEL): the warm-up cards */
export const DEFAULT_CHANNEL = CHANNEL;

export type BenchWorld = World & {
  /** the channels cards are routed to */
  channels: string[];
  /** policy file (YAML) routing prod-<k>-* to channels[k] */
  policy: string;
  /** webhook events the app's hook subscribes to */
  hook(appUrl: string, events: 'deployment' | 'all'): void;
  /** a protected environment (one Maintainer approval) of its own for deployment i */
  environmentFor(i: number): string;
  /** protects the environment `name` like the others (warm-up deployments, routed to the default channel) */
  protect(name: string): void;
  /**
   * What the summary of changes reads: every environment of `environmentFor(0..n-1)` gets a successful
   * deployment of a commit of its own, then `mergeRequests` merge requests are merged (merge commit, squash,
   * fast-forward in turn) and pipelines get a lint and a unit job. Returns the head commit, which the
   * measured deployments deploy (one release rolled out everywhere: each card a range of its own).
   */
  history(n: number, mergeRequests: number): string;
};

/**
 * The fakes of test/helpers/world.ts (fake GitLab in 19.3+ webhook mode, fake Slack, users bob, alice, carol)
 * plus `channels` channels and protected environments that need one Maintainer approval.
 */
export async function startBenchWorld(
  opts: { channels: number; changes?: 'on' | 'off' } = { channels: 10 },
): Promise<BenchWorld> {
  const world = await startWorld({ webhookMode: 'modern' });
  const channels = Array.from({ length: opts.channels }, (_, k) => channelId(k));
  channels.forEach((id, k) => world.slack.addChannel({ id, name: `deploys-${k}`, botIsMember: true }));
  const policy =
    [
      ...(opts.changes === 'off' ? ['changes: "off"'] : []),
      'routes:',
      ...channels.map((channel, k) => `  - { match: { environment: "prod-${k}-*" }, channel: ${channel} }`),
    ].join('\n') + '\n';
  const protect = (name: string) => {
    world.gitlab.protectEnvironment(world.project.id, name, {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
  };
  return {
    ...world,
    channels,
    policy,
    protect,
    history(n, mergeRequests) {
      const { gitlab, project } = world;
      for (let i = 0; i < n; i += 1) {
        const before = gitlab.createDeployment({
          projectId: project.id,
          environment: `prod-${i % channels.length}-${i}`,
          userId: world.bob.id,
          commitTitle: `Release ${i}`,
        });
        gitlab.finishJob(before.jobId, 'success');
      }
      const methods = ['merge', 'squash', 'ff'] as const;
      for (let i = 0; i < mergeRequests; i += 1)
        gitlab.mergeMergeRequest(project.id, {
          title: `Change ${i}: a merge request title of a usual length`,
          authorId: i % 2 ? world.alice.id : world.carol.id,
          method: methods[i % methods.length]!,
        });
      return gitlab.pushCommits(project.id, { commits: [{ title: 'Release candidate' }] })[0]!.sha;
    },
    environmentFor(i) {
      const name = `prod-${i % channels.length}-${i}`;
      protect(name);
      return name;
    },
    hook(appUrl, events) {
      const all = events === 'all';
      world.gitlab.addHook({
        projectId: world.project.id,
        url: `${appUrl}/webhooks/gitlab`,
        token: WEBHOOK_SECRET,
        deploymentEvents: true,
        pipelineEvents: all,
        jobEvents: all,
      });
    },
  };
}
