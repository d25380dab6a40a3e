import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProject } from '../fakes/fake-gitlab.ts';
import { slackDate } from '../../src/adapters/slack/mrkdwn.ts';
import { appIdle, startTestApp, type LogRecord, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

type Block = Record<string, unknown> & { block_id?: string; text?: { text: string } };

const MINUTE = 60_000;
/** The sweep's default interval: it re-syncs every open card this often. */
const SWEEP_MS = 5 * MINUTE;

const partOf = (blocks: Block[], part: string) => blocks.find((b) => String(b.block_id).includes(`-${part}-`));
const whatChanges = (m: { blocks: Block[] }) => partOf(m.blocks, 'w')?.text?.text ?? null;
const pipelineLine = (m: { blocks: Block[] }) => whatChanges(m)?.split('\n').at(-1) ?? null;

/**
 * A card whose summary is ready, re-synced while it waits as the sweep does (every open card every interval):
 * what cannot have changed is not read from GitLab again. The app's clock is the fake GitLab's, moved forward by
 * the tests (the reader's caches follow it); every re-sync is awaited until the app is idle again.
 */
describe('what the deployment changes, when the card is synced again while it waits', () => {
  let world: World;
  let app: TestApp;
  let later: FakeProject;
  let environments = 0;
  let syncs = 0;

  const cardFor = (deploymentId: number) =>
    waitFor(
      () => world.slack.messages(CHANNEL).find((m) => m.metadata?.event_payload?.deployment_id === deploymentId),
      { what: `card for ${deploymentId}` },
    );
  /** The card once its summary is read (the pipeline line is the last line of the "what changes" section). */
  const settledCard = async (deploymentId: number) => {
    const card = await cardFor(deploymentId);
    return waitFor(
      () => {
        const m = world.slack.message(CHANNEL, card.ts);
        return m && whatChanges(m) !== null && !whatChanges(m)!.includes('being read') ? m : undefined;
      },
      { what: 'the card with its changes' },
    );
  };
  const waiting = (
    project: FakeProject,
    pipelineJobs: Parameters<World['gitlab']['createDeployment']>[0]['pipelineJobs'],
  ) => {
    environments += 1;
    const environment = `resync-${environments}`;
    const before = world.gitlab.createDeployment({ projectId: project.id, environment, userId: world.bob.id });
    world.gitlab.finishJob(before.jobId, 'success');
    world.gitlab.protectEnvironment(project.id, environment, {
      approvalRules: [{ accessLevel: 40, requiredApprovals: 1 }],
    });
    return world.gitlab.createDeployment({
      projectId: project.id,
      environment,
      userId: world.bob.id,
      ...(pipelineJobs && { pipelineJobs }),
    });
  };
  /**
   * A sync of the deployment asked for as the sweep asks for it; resolves once the app has done it. Work still queued
   * (a hook's or a scan's sync may be, when the card shows its summary) is finished first, so that a sync seen
   * afterwards is one this request asked for. The request need not run as a job of its own (queues.ts: one that
   * meets the deployment's sync still waiting is served by that sync, one that meets it running is kept as the next
   * run), so what is awaited is the app idle again with a sync of the deployment done, not a job with this reason.
   */
  const resync = async (d: { id: number; projectId: number }) => {
    syncs += 1;
    await appIdle(app);
    const mark = app.logs.lines.length;
    await app.app.producer.requestSync({ projectId: d.projectId, deploymentId: d.id }, `test: re-sync ${syncs}`);
    await appIdle(app);
    const synced = app.logs.lines
      .slice(mark)
      .map((l) => JSON.parse(l) as LogRecord)
      .filter((r) => r.msg === 'deployment synced' && r.deploymentId === d.id);
    expect(synced, `a sync of deployment ${d.id} after re-sync ${syncs} was asked for`).not.toEqual([]);
  };
  /** GitLab requests since `mark` that read a project's summary (everything but the deployment and its rules). */
  const summaryReads = (projectId: number, mark: number) =>
    world.gitlab.requests
      .slice(mark)
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) =>
        new RegExp(
          `^GET /api/v4/projects/${projectId}/` +
            '(environments/\\d+$|pipelines/\\d+/jobs$|freeze_periods$|repository/commits$|merge_requests$)',
        ).test(r),
      );
  const message = (ts: string) => world.slack.message(CHANNEL, ts)!;

  beforeAll(async () => {
    world = await startWorld({ webhookMode: 'modern' });
    later = world.gitlab.addProject({ pathWithNamespace: 'acme/frozen-later' });
    for (const u of [world.alice, world.bob, world.carol]) world.gitlab.addProjectMember(later.id, u.id, 40);
    app = await startTestApp({
      env: world.env,
      name: 'e2e-changes-resync',
      // the sweep of start-up only: the tests sync the cards themselves
      policy: 'sweep: { every: 1d }\n',
      options: { clock: { now: () => world.gitlab.now() } },
    });
    for (const p of [world.project, later])
      world.gitlab.addHook({
        projectId: p.id,
        url: `${app.url}/webhooks/gitlab`,
        token: WEBHOOK_SECRET,
        deploymentEvents: true,
      });
  });
  afterAll(async () => {
    await world?.gitlab.webhooksIdle();
    await app?.stop();
    await world?.close();
  });

  it('reads nothing of a ready summary again, sweep after sweep, while the pipeline stays finished', async () => {
    const d = waiting(world.project, [
      { name: 'lint', status: 'success' },
      { name: 'unit', status: 'success' },
    ]);
    const card = await settledCard(d.id);
    await world.gitlab.webhooksIdle();
    const shown = whatChanges(card);
    expect(pipelineLine(card)).toMatch(/: tests passed \(2 jobs\)$/);

    const mark = world.gitlab.requests.length;
    for (let i = 0; i < 6; i += 1) {
      world.gitlab.advanceClock(SWEEP_MS);
      await resync(d);
    }
    expect(summaryReads(world.project.id, mark)).toEqual([]);
    expect(whatChanges(message(card.ts))).toBe(shown);
  });

  it('reads a running pipeline’s jobs again at most once a minute, and at once when the pipeline changes', async () => {
    const d = waiting(world.project, [
      { name: 'lint', status: 'success' },
      { name: 'e2e', status: 'running' },
    ]);
    const card = await settledCard(d.id);
    await world.gitlab.webhooksIdle();
    expect(pipelineLine(card)).toMatch(/: still running \(1 job\)$/);
    const jobsReads = (mark: number) =>
      summaryReads(world.project.id, mark).filter((r) => r.endsWith(`/pipelines/${d.pipelineId}/jobs`));

    let mark = world.gitlab.requests.length;
    for (let i = 0; i < 3; i += 1) await resync(d);
    expect(jobsReads(mark)).toEqual([]);
    world.gitlab.advanceClock(MINUTE);
    for (let i = 0; i < 3; i += 1) await resync(d);
    expect(jobsReads(mark)).toHaveLength(1);
    expect(summaryReads(world.project.id, mark)).toHaveLength(1);

    // the last job finishes: the pipeline's status (and updated_at) moves, which the deployment read shows
    mark = world.gitlab.requests.length;
    world.gitlab.updatePipelineJob(d.pipelineId, 'e2e', 'success');
    await resync(d);
    expect(jobsReads(mark)).toHaveLength(1);
    expect(pipelineLine(message(card.ts))).toMatch(/: tests passed \(2 jobs\)$/);
  });

  it('notices a failed job retried in the pipeline (no new deployment in GitLab) on the next sync', async () => {
    const d = waiting(world.project, [
      { name: 'lint', status: 'success' },
      { name: 'unit', status: 'failed' },
    ]);
    const card = await settledCard(d.id);
    await world.gitlab.webhooksIdle();
    expect(pipelineLine(card)).toMatch(/: 1 job failed: unit$/);

    let mark = world.gitlab.requests.length;
    for (let i = 0; i < 3; i += 1) {
      world.gitlab.advanceClock(SWEEP_MS);
      await resync(d);
    }
    expect(summaryReads(world.project.id, mark)).toEqual([]);

    world.gitlab.updatePipelineJob(d.pipelineId, 'unit', 'retry');
    await resync(d);
    expect(pipelineLine(message(card.ts))).toMatch(/: still running \(1 job\)$/);
    world.gitlab.updatePipelineJob(d.pipelineId, 'unit', 'success');
    await resync(d);
    expect(pipelineLine(message(card.ts))).toMatch(/: tests passed \(2 jobs\)$/);
    expect(world.gitlab.getDeployment(d.id)!.status).toBe('blocked');

    mark = world.gitlab.requests.length;
    world.gitlab.advanceClock(SWEEP_MS);
    await resync(d);
    expect(summaryReads(world.project.id, mark)).toEqual([]);
  });

  it('shows a deploy freeze that starts while the card waits on the next sync, and drops it when it ends', async () => {
    // a daily freeze from 10 minutes from now for half an hour (UTC, minute precision): not in effect yet
    const now = world.gitlab.now();
    const cron = (at: number) => `${new Date(at).getUTCMinutes()} ${new Date(at).getUTCHours()} * * *`;
    const start = now + 10 * MINUTE;
    const end = now + 40 * MINUTE;
    world.gitlab.addFreezePeriod(later.id, { freezeStart: cron(start), freezeEnd: cron(end), cronTimezone: 'UTC' });
    const d = waiting(later, [{ name: 'lint', status: 'success' }]);
    const card = await settledCard(d.id);
    await world.gitlab.webhooksIdle();
    expect(partOf(card.blocks, 'z')).toBeUndefined();

    const mark = world.gitlab.requests.length;
    world.gitlab.advanceClock(11 * MINUTE);
    await resync(d);
    const frozen = message(card.ts);
    const endsAt = new Date(end);
    endsAt.setUTCSeconds(0, 0);
    expect(frozen.blocks[1]!.block_id).toMatch(new RegExp(`^dep-${d.id}-z-`));
    expect((frozen.blocks[1] as Block).text!.text).toContain(
      `:snowflake: *Deploy freeze in effect until ${slackDate(endsAt.getTime())}.*`,
    );

    world.gitlab.advanceClock(SWEEP_MS);
    await resync(d);
    expect(partOf(message(card.ts).blocks, 'z')).toBeDefined();
    world.gitlab.advanceClock(25 * MINUTE);
    await resync(d);
    expect(partOf(message(card.ts).blocks, 'z')).toBeUndefined();
    // the periods read for the card's first render served every sync since: they are kept an hour
    expect(summaryReads(later.id, mark)).toEqual([]);
  });
});
