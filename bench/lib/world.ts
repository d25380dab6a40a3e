import { startWorld, WEBHOOK_SECRET, type World } from '../../test/helpers/world.ts';

/** Ten protected environments, each routed by the policy file to its own channel. */
export const CHANNELS = Array.from({ length: 10 }, (_, i) => `C0BENCH${String(i).padStart(2, '0')}`);
export const ENVIRONMENTS = CHANNELS.map((_, i) => `prod-${i}`);
export { WEBHOOK_SECRET };

export type BenchWorld = World & {
  /** policy file (YAML) routing ENVIRONMENTS[i] to CHANNELS[i] */
  policy: string;
  /** webhook events the app's hook subscribes to */
  hook(appUrl: string, events: 'deployment' | 'all'): void;
};

/**
 * The fakes of test/helpers/world.ts (fake GitLab in 19.3+ webhook mode, fake Slack, users bob, alice, carol)
 * plus ten environments needing one Maintainer approval and ten channels.
 */
export async function startBenchWorld(): Promise<BenchWorld> {
  const world = await startWorld({ webhookMode: 'modern' });
  for (const environment of ENVIRONMENTS) {
    world.gitlab.protectEnvironment(world.project.id, environment, { approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }] });
  }
  CHANNELS.forEach((id, i) => world.slack.addChannel({ id, name: `deploys-${i}`, botIsMember: true }));
  const policy = ['routes:', ...ENVIRONMENTS.map((environment, i) => `  - { match: { environment: "${environment}" }, channel: ${CHANNELS[i]} }`)].join('\n') + '\n';
  return {
    ...world,
    policy,
    hook(appUrl, events) {
      const all = events === 'all';
      world.gitlab.addHook({ projectId: world.project.id, url: `${appUrl}/webhooks/gitlab`, token: WEBHOOK_SECRET, deploymentEvents: true, pipelineEvents: all, jobEvents: all });
    },
  };
}
