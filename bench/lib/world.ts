import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../../test/helpers/world.ts';

/**
 * Ten channels; deployment i goes to environment `prod-<i mod 10>-<i>`, routed by the policy file to channel
 * i mod 10. One environment per deployment: a newer deployment to the same environment supersedes an older one.
 */
export const CHANNELS = Array.from({ length: 10 }, (_, i) => `C0BENCH${String(i).padStart(2, '0')}`);
export { WEBHOOK_SECRET };
/** where cards go when no route matches (SLACK_CHANNEL): the warm-up cards */
export const DEFAULT_CHANNEL = CHANNEL;

export type BenchWorld = World & {
  /** policy file (YAML) routing prod-<k>-* to CHANNELS[k] */
  policy: string;
  /** webhook events the app's hook subscribes to */
  hook(appUrl: string, events: 'deployment' | 'all'): void;
  /** a protected environment (one Maintainer approval) of its own for deployment i; its channel index */
  environmentFor(i: number): { name: string; channel: number };
  /** protects the environment `name` like the others (warm-up deployments, routed to the default channel) */
  protect(name: string): void;
};

/**
 * The fakes of test/helpers/world.ts (fake GitLab in 19.3+ webhook mode, fake Slack, users bob, alice, carol)
 * plus ten channels and protected environments that need one Maintainer approval.
 */
export async function startBenchWorld(): Promise<BenchWorld> {
  const world = await startWorld({ webhookMode: 'modern' });
  CHANNELS.forEach((id, i) => world.slack.addChannel({ id, name: `deploys-${i}`, botIsMember: true }));
  const policy = ['routes:', ...CHANNELS.map((channel, k) => `  - { match: { environment: "prod-${k}-*" }, channel: ${channel} }`)].join('\n') + '\n';
  const protect = (name: string) => {
    world.gitlab.protectEnvironment(world.project.id, name, { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
  };
  return {
    ...world,
    policy,
    protect,
    environmentFor(i) {
      const channel = i % CHANNELS.length;
      const name = `prod-${channel}-${i}`;
      protect(name);
      return { name, channel };
    },
    hook(appUrl, events) {
      const all = events === 'all';
      world.gitlab.addHook({ projectId: world.project.id, url: `${appUrl}/webhooks/gitlab`, token: WEBHOOK_SECRET, deploymentEvents: true, pipelineEvents: all, jobEvents: all });
    },
  };
}
