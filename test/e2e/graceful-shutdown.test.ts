import { Agent, request, type IncomingMessage } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnGreenlight, type GreenlightProcess } from '../helpers/child.ts';
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { CHANNEL, startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';

describe('graceful shutdown on SIGTERM', () => {
  let world: World;
  let redis: Redis;
  let child: GreenlightProcess | null = null;
  const prefix = uniquePrefix('e2e-sigterm');

  beforeAll(async () => {
    world = await startWorld();
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    child?.proc.kill('SIGKILL');
    redis?.disconnect();
    await world?.close();
    await cleanupPrefix(prefix);
  });

  it('stops accepting, finishes the job in flight, closes workers, queues and Redis, and exits 0', async () => {
    const port = await freePort();
    child = await spawnGreenlight({
      ...world.env,
      PORT: String(port),
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'debug',
    });
    world.gitlab.addHook({
      projectId: world.project.id,
      url: `${child.url}/webhooks/gitlab`,
      token: WEBHOOK_SECRET,
      deploymentEvents: true,
      pipelineEvents: true,
      jobEvents: true,
    });

    // The sync job of this deployment is in flight: GitLab holds its read until shutdown has begun.
    const path = (id: number) => `/api/v4/projects/${world.project.id}/deployments/${id}`;
    let releaseRead: () => void = () => {};
    const readHeld = new Promise<void>((resolve) => (releaseRead = resolve));
    world.gitlab.failNext({ method: 'GET', path: path(1), until: readHeld });
    const d = world.gitlab.createDeployment({
      projectId: world.project.id,
      environment: 'production',
      userId: world.bob.id,
    });
    expect(d.id).toBe(1);
    await waitFor(() => world.gitlab.requests.some((r) => r.path === path(d.id) && r.status === 0), {
      what: 'read in flight',
    });

    // A webhook request in flight too, on a keep-alive connection: the server has its headers (it answered
    // 100 Continue), the body is still to come.
    const body = JSON.stringify({
      object_kind: 'pipeline',
      object_attributes: { id: 9, status: 'running' },
      project: { id: world.project.id, path_with_namespace: 'acme/web' },
    });
    const agent = new Agent({ keepAlive: true });
    const slow = request(`${child.url}/webhooks/gitlab`, {
      method: 'POST',
      agent,
      headers: {
        expect: '100-continue',
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-gitlab-event': 'Pipeline Hook',
        'x-gitlab-token': WEBHOOK_SECRET,
      },
    });
    const answered = new Promise<IncomingMessage>((resolve, reject) =>
      slow.on('response', resolve).on('error', reject),
    );
    const continued = new Promise((resolve) => slow.once('continue', resolve));
    slow.flushHeaders();
    await continued;

    child.proc.kill('SIGTERM');
    await child.waitForLog('shutting down');
    // No new connections once shutdown began (the job in flight keeps the process alive meanwhile).
    await expect(fetch(`${child.url}/healthz`)).rejects.toThrow();
    releaseRead();
    // The request in flight is still answered, and its idle keep-alive connection does not hold the process.
    slow.end(body);
    const response = await answered;
    response.resume();
    expect(response.statusCode).toBe(202);
    const { code, signal } = await child.exited;
    agent.destroy();
    expect({ code, signal }).toEqual({ code: 0, signal: null });

    // The job finished before the process went: the card is there, nothing is left active for a restart.
    const cards = world.slack.messages(CHANNEL).filter((m) => m.metadata?.event_payload?.deployment_id === d.id);
    expect(cards).toHaveLength(1);
    expect(await redis.llen(`{${prefix}}:sync:active`)).toBe(0);
    const msgs = child.logs.map((l) => l.msg);
    expect(msgs.indexOf('card posted')).toBeGreaterThan(msgs.indexOf('shutting down'));
    // stop() resolved (workers, queues and Redis closed) before the process exited on its own terms
    expect(msgs.indexOf('greenlight stopped')).toBeGreaterThan(msgs.indexOf('card posted'));
    expect(child.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});
