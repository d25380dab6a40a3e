import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createGreenlight, type Greenlight, type GreenlightOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from './redis.ts';
import { waitFor } from './wait.ts';

export type LogRecord = { level: string; msg: string; [key: string]: unknown };

/** Collects the app's JSON log lines so tests can assert on them (and on what they must not contain). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(line);
    done();
  }
  records(): LogRecord[] {
    return this.lines.map((l) => JSON.parse(l) as LogRecord);
  }
  find(msg: string | RegExp): LogRecord[] {
    return this.records().filter((r) => (typeof msg === 'string' ? r.msg === msg : msg.test(r.msg)));
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export type TestApp = {
  app: Greenlight;
  url: string;
  prefix: string;
  logs: LogCapture;
  stop(): Promise<void>;
};

/**
 * Starts the real app (web + workers unless ROLE says otherwise) on port 0 with its own Redis prefix.
 * `env` is the environment the process would see; `policy` (YAML) becomes CONFIG_FILE.
 */
export async function startTestApp(opts: {
  env: Record<string, string>;
  policy?: string;
  name: string;
  options?: GreenlightOptions;
}): Promise<TestApp> {
  const prefix = uniquePrefix(opts.name);
  const env: Record<string, string> = {
    PORT: '0',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'debug',
    ...opts.env,
  };
  if (opts.policy !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-policy-'));
    env.CONFIG_FILE = join(dir, 'policy.yml');
    writeFileSync(env.CONFIG_FILE, opts.policy);
  }
  const logs = new LogCapture();
  // Posts are paced per channel like Slack's 1/s, but faster here so that tests which post many cards stay
  // quick (the fake only enforces Slack's pace when a test turns it on, and then passes slackPacing: {}).
  const app = await createGreenlight(loadConfig(env), {
    logDestination: logs,
    slackPacing: { intervalMs: 100 },
    // the sweep spreads its jobs at most this far apart (1 s in production): tests wait for what it finds
    sweepMaxGapMs: 10,
    ...opts.options,
  });
  await app.start();
  return {
    app,
    url: app.url() ?? '',
    prefix,
    logs,
    async stop() {
      await app.stop();
      await cleanupPrefix(prefix);
    },
  };
}

/**
 * Resolves once the app has finished everything already handed to it: no job waiting, running, delayed or
 * prioritized in intake, scan, sync, decisions or notices (reminder timers are long-lived delayed jobs and do not
 * count). Read upstream first and seen idle twice in a row, so a job on its
 * way from one queue to the next is not missed. Assert that something did NOT happen only after this (and after
 * the fake GitLab's webhooksIdle(), when webhooks are involved): before it, "nothing yet" passes for a bug.
 */
export async function appIdle(app: TestApp): Promise<void> {
  const q = app.app.queues;
  const idle = async () => {
    for (const queue of [q.intake, q.scan, q.sync, q.decisions, q.notices]) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).some((n) => n > 0)) return false;
    }
    return true;
  };
  await waitFor(async () => (await idle()) && (await idle()), { what: 'the app idle' });
}
