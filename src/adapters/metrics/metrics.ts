import type { Job, Worker } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../../core/ports.ts';
import type { BudgetObserver, GitLabLane } from '../gitlab/request-budget.ts';

/** One outbound API call, as seen on the wire (adapters report it; see api-observer.ts). */
export type ApiCall = {
  api: 'gitlab' | 'slack';
  /** GitLab: METHOD /route with ids replaced by :id; Slack: the Web API method */
  operation: string;
  /** HTTP status, or network / timeout when there was no answer */
  status: string;
  /** Slack's error code when it answered ok:false (HTTP 200) */
  error?: string;
  seconds: number;
};
export type ApiObserver = (call: ApiCall) => void;

/** What /metrics reads from Redis on every scrape (gauges that are facts about the shared state, not this process). */
export type MetricSources = {
  queueCounts(): Promise<Record<string, Record<string, number>>>;
  /** how many deployments have an open card */
  openCards(): Promise<number>;
  /** created time (epoch ms) of the oldest deployment with an open card, null when none */
  oldestOpenCard(): Promise<number | null>;
  now(): number;
};

/** GitLab's webhook names (X-Gitlab-Event); anything else, or none, is counted as `other`. */
export const KNOWN_HOOKS = new Set([
  'Deployment Hook',
  'Pipeline Hook',
  'Job Hook',
  'Push Hook',
  'Tag Push Hook',
  'Issue Hook',
  'Confidential Issue Hook',
  'Note Hook',
  'Confidential Note Hook',
  'Merge Request Hook',
  'Wiki Page Hook',
  'Release Hook',
  'Feature Flag Hook',
  'Emoji Hook',
  'Member Hook',
  'Subgroup Hook',
  'Project Hook',
  'Resource Access Token Hook',
  'Vulnerability Hook',
  'System Hook',
]);
const WEBHOOK_RESULTS = new Set(['queued', 'duplicate', 'ignored', 'malformed', 'unauthorized', 'unavailable']);

/**
 * Label values that outside input could reach are bounded here, whatever the caller passes: every metric of
 * /metrics (an endpoint without auth) has a fixed, small set of series.
 */
export const bounded = {
  hook: (hook: string | undefined) => (hook !== undefined && KNOWN_HOOKS.has(hook) ? hook : 'other'),
  webhookResult: (result: string) => (WEBHOOK_RESULTS.has(result) ? result : 'other'),
  /** HTTP status (3 digits), network or timeout */
  status: (status: string) =>
    /^\d{3}$/.test(status) || status === 'network' || status === 'timeout' ? status : 'other',
  /** Slack's error codes are snake_case words */
  slackError: (error: string) => (/^[a-z_]{1,50}$/.test(error) ? error : 'other'),
  operation: (api: 'gitlab' | 'slack', operation: string) =>
    api === 'slack'
      ? operation === 'response_url' || (operation.length <= 64 && /^[a-z]+(?:\.[a-zA-Z]+){1,3}$/.test(operation))
        ? operation
        : 'other'
      : /^[A-Z]{3,7} [a-z_:/]{0,200}$/.test(operation)
        ? operation
        : 'other',
};

/**
 * prom-client's default gauges whose names end in _total, which Prometheus reserves for counters (promtool:
 * "non-counter metrics should not have _total suffix"). Their per-type gauges without the suffix stay.
 */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * greenlight's Prometheus metrics. One registry per app instance (tests start several apps in one
 * process): nothing here is module-level.
 */
export function createMetrics(opts: { role: string; sources?: MetricSources; defaultMetrics?: boolean }) {
  const registry = new Registry();
  registry.setDefaultLabels({ role: opts.role });
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'greenlight_' });
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`greenlight_${name}`);
  }
  const registers = [registry];

  const webhooks = new Counter({
    name: 'greenlight_webhooks_total',
    help:
      "GitLab webhook requests by hook (X-Gitlab-Event if it is one of GitLab's hook names, else other) and result " +
      '(queued, duplicate, ignored, malformed, unauthorized, unavailable).',
    labelNames: ['hook', 'result'],
    registers,
  });
  const cards = new Counter({
    name: 'greenlight_cards_total',
    help: 'Slack cards posted or updated.',
    labelNames: ['action'],
    registers,
  });
  const decisions = new Counter({
    name: 'greenlight_decisions_total',
    help: 'Decisions (approve, reject, run) by outcome: recorded, a refusal reason, expired or failed.',
    labelNames: ['action', 'outcome'],
    registers,
  });
  const jobs = new Counter({
    name: 'greenlight_jobs_total',
    help: 'Job attempts finished by this process, by queue and result (completed, retried, failed).',
    labelNames: ['queue', 'result'],
    registers,
  });
  const jobDuration = new Histogram({
    name: 'greenlight_job_duration_seconds',
    help: 'Time a job attempt took to process.',
    labelNames: ['queue', 'result'],
    buckets: JOB_SECONDS,
    registers,
  });
  const jobWait = new Histogram({
    name: 'greenlight_job_wait_seconds',
    help:
      'Time from when a job became due (enqueued, plus any delay) ' +
      'to the start of its attempt; retries include their backoff.',
    labelNames: ['queue'],
    buckets: JOB_SECONDS,
    registers,
  });
  const gitlabLatency = new Histogram({
    name: 'greenlight_gitlab_request_duration_seconds',
    help: 'GitLab API requests by operation and HTTP status (network, timeout: no answer).',
    labelNames: ['operation', 'status'],
    buckets: SECONDS,
    registers,
  });
  const budgetWaits = new Counter({
    name: 'greenlight_gitlab_budget_waits_total',
    help:
      "Waits before a GitLab request for the token's shared budget, by lane (interactive, normal, background) and " +
      'reason (paused: GitLab said 429; api, project, sweep: that budget was spent).',
    labelNames: ['lane', 'reason'],
    registers,
  });
  const budgetWaitSeconds = new Counter({
    name: 'greenlight_gitlab_budget_wait_seconds_total',
    help: "Time spent waiting for the token's shared GitLab budget, by lane.",
    labelNames: ['lane'],
    registers,
  });
  const gitlabPauses = new Counter({
    name: 'greenlight_gitlab_pauses_total',
    help: 'Pauses of every GitLab caller this process set: 429 (Retry-After) or remaining (RateLimit-Remaining 0).',
    labelNames: ['reason'],
    registers,
  });
  const slackLatency = new Histogram({
    name: 'greenlight_slack_request_duration_seconds',
    help: 'Slack Web API requests by method and HTTP status (network, timeout: no answer).',
    labelNames: ['operation', 'status'],
    buckets: SECONDS,
    registers,
  });
  const apiErrors = new Counter({
    name: 'greenlight_api_errors_total',
    help: 'Failed GitLab and Slack API calls by status (HTTP status, network, timeout) and Slack error code.',
    labelNames: ['api', 'operation', 'status', 'error'],
    registers,
  });

  const sources = opts.sources;
  if (sources) {
    new Gauge({
      name: 'greenlight_queue_jobs',
      help: 'Jobs per queue and state (read from Redis at scrape time; the same in every process: aggregate with max).',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const counts = await sources.queueCounts().catch(() => ({}) as Record<string, Record<string, number>>);
        this.reset();
        for (const [queue, states] of Object.entries(counts))
          for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
      },
    });
    new Gauge({
      name: 'greenlight_pending_approvals',
      help:
        'Deployments with an open card: waiting for approval, or ' +
        'approved and not yet run (from Redis; aggregate with max).',
      registers,
      async collect() {
        const count = await sources.openCards().catch(() => null);
        if (count !== null) this.set(count);
      },
    });
    new Gauge({
      name: 'greenlight_oldest_pending_age_seconds',
      help: 'Age of the oldest deployment with an open card (0 when none; from Redis; aggregate with max).',
      registers,
      async collect() {
        const oldest = await sources.oldestOpenCard().catch(() => undefined);
        if (oldest !== undefined) this.set(oldest === null ? 0 : Math.max(0, (sources.now() - oldest) / 1000));
      },
    });
  }

  return {
    registry,
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    /** `hook`: the X-Gitlab-Event header as sent (bounded here to the known names and `other`) */
    webhook(hook: string | undefined, result: string): void {
      webhooks.inc({ hook: bounded.hook(hook), result: bounded.webhookResult(result) });
    },
    api: ((call) => {
      const operation = bounded.operation(call.api, call.operation);
      const status = bounded.status(call.status);
      (call.api === 'gitlab' ? gitlabLatency : slackLatency).observe({ operation, status }, call.seconds);
      const failed = call.error !== undefined || !/^2\d\d$/.test(status);
      if (failed)
        apiErrors.inc({
          api: call.api,
          operation,
          status,
          error: call.error === undefined ? '' : bounded.slackError(call.error),
        });
    }) satisfies ApiObserver as ApiObserver,
    /** The GitLab request budget (lanes and reasons are fixed words: see request-budget.ts). */
    gitlabBudget: {
      waited(lane: GitLabLane, reason: string, seconds: number): void {
        budgetWaits.inc({ lane, reason });
        budgetWaitSeconds.inc({ lane }, seconds);
      },
      paused(reason: '429' | 'remaining'): void {
        gitlabPauses.inc({ reason });
      },
    } satisfies BudgetObserver,
    /** Counts outcomes of this process's workers from BullMQ's events; processors stay unaware of metrics. */
    observeWorkers(workers: readonly Worker[], logger: Logger): void {
      for (const worker of workers) {
        worker.on('active', (job: Job) => {
          if (job.processedOn)
            jobWait.observe(
              { queue: worker.name },
              Math.max(0, job.processedOn - (job.delay ? job.timestamp + job.delay : job.timestamp)) / 1000,
            );
        });
        worker.on('completed', (job: Job, result: unknown) => {
          const seconds = elapsed(job);
          jobs.inc({ queue: worker.name, result: 'completed' });
          jobDuration.observe({ queue: worker.name, result: 'completed' }, seconds);
          logger.debug({ queue: worker.name, jobId: job.id, ms: Math.round(seconds * 1000) }, 'job completed');
          countOutcome(worker.name, job, result);
        });
        worker.on('failed', (job: Job | undefined, error: Error) => {
          if (!job) return;
          const final = error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
          const result = final ? 'failed' : 'retried';
          jobs.inc({ queue: worker.name, result });
          jobDuration.observe({ queue: worker.name, result }, elapsed(job));
          if (final && worker.name === 'decisions') decisions.inc({ action: actionOf(job), outcome: 'failed' });
        });
      }
    },
  };

  function countOutcome(queue: string, job: Job, result: unknown): void {
    if (queue === 'sync' && typeof result === 'object' && result !== null) {
      const kind = (result as { kind?: unknown }).kind;
      if (kind === 'posted' || kind === 'updated') cards.inc({ action: kind });
    }
    if (queue === 'decisions' && typeof result === 'string') decisions.inc({ action: actionOf(job), outcome: result });
  }
}

function elapsed(job: Job): number {
  return job.processedOn ? Math.max(0, (job.finishedOn ?? Date.now()) - job.processedOn) / 1000 : 0;
}

function actionOf(job: Job): string {
  const action = (job.data as { action?: unknown } | undefined)?.action;
  return typeof action === 'string' ? action : job.name;
}
