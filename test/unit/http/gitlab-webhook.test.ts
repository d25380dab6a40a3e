import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  Agent,
  createServer,
  request,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWebhookIntake, WEBHOOK_BODY_LIMIT, WEBHOOK_PATH } from '../../../src/entrypoints/http/gitlab-webhook.ts';
import type { IntakeEvent } from '../../../src/core/intake/intake-event.ts';
import { CapturingLogger } from '../../fakes/in-memory.ts';
import { waitFor } from '../../helpers/wait.ts';

const SECRET = 'gitlab-webhook-intake-unit-secret';

/** GitLab's documented Deployment Hook example (deployment lifecycle events). */
const DEPLOYMENT_HOOK = {
  object_kind: 'deployment',
  status: 'success',
  status_changed_at: '2021-04-28 21:50:00 +0200',
  deployment_id: 15,
  deployable_id: 796,
  deployable_url: 'http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796',
  environment: 'staging',
  environment_tier: 'staging',
  environment_slug: 'staging',
  environment_external_url: 'https://staging.example.com',
  project: {
    id: 30,
    name: 'test-deployment-webhooks',
    path_with_namespace: 'root/test-deployment-webhooks',
    web_url: 'http://10.126.0.2:3000/root/test-deployment-webhooks',
  },
  short_sha: '279484c0',
  user: { id: 1, name: 'Administrator', username: 'root' },
  ref: 'main',
  commit_title: 'Add new file',
};
const DEPLOYMENT_EVENT: IntakeEvent = {
  kind: 'deployment',
  projectId: 30,
  projectPath: 'root/test-deployment-webhooks',
  deploymentId: 15,
  status: 'success',
  statusChangedAt: Date.parse('2021-04-28T19:50:00Z'),
  environment: 'staging',
};
const BODY = JSON.stringify(DEPLOYMENT_HOOK);

/** What GitLab sends with a deployment delivery (it names the delivery in Idempotency-Key). */
const GITLAB_HEADERS = {
  'content-type': 'application/json',
  'x-gitlab-token': SECRET,
  'x-gitlab-event': 'Deployment Hook',
  'idempotency-key': 'delivery-0001',
} as const;

function headersWithout(...names: (keyof typeof GITLAB_HEADERS)[]): Record<string, string> {
  const headers: Record<string, string> = { ...GITLAB_HEADERS };
  for (const name of names) delete headers[name];
  return headers;
}

type Reply = { status: number; headers: IncomingHttpHeaders; text: string };
type Outcome = 'queued' | 'duplicate' | Error;

function readReply(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res
      .on('data', (chunk: Buffer) => chunks.push(chunk))
      .on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      )
      .on('error', reject);
  });
}

/** Rejects when `promise` has not settled after `ms`: for answers that must not wait for a body that never comes. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles on 'close' (not events.once, which would reject on the 'error' a torn-down connection may emit first). */
function closeOf(emitter: { once(event: 'close', listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => emitter.once('close', () => resolve()));
}

/** The connection a client request runs on (assigned by the agent shortly after the request is made). */
async function socketOf(req: ClientRequest): Promise<Socket> {
  if (req.socket) return req.socket;
  const [socket] = (await once(req, 'socket')) as [Socket];
  return socket;
}

/** The intake mounted the way src/app.ts mounts it, with a fake queue, a capturing logger and an observe spy. */
async function startIntake() {
  const enqueued: { event: IntakeEvent; deliveryKey: string }[] = [];
  let outcome: Outcome = 'queued';
  const logger = new CapturingLogger();
  const observe = vi.fn<(hook: string, result: string) => void>();
  const intake = createWebhookIntake({
    secret: SECRET,
    logger,
    observe,
    enqueue: async (event, deliveryKey) => {
      enqueued.push({ event, deliveryKey });
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  });
  const routes: ('accept' | 'handle')[] = [];
  const serverRequests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    serverRequests.push(req);
    if (intake.isVerifiedDelivery(req)) {
      routes.push('accept');
      intake.accept(req, res);
    } else {
      routes.push('handle');
      intake.handle(req, res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agent = new Agent({ keepAlive: true });
  const clientErrors: Error[] = [];

  /** A request whose body the test writes itself; `reply` settles with the answer. */
  const open = (headers: OutgoingHttpHeaders, opts: { method?: string; path?: string } = {}) => {
    const req: ClientRequest = request(`${base}${opts.path ?? WEBHOOK_PATH}`, {
      method: opts.method ?? 'POST',
      headers,
      agent,
    });
    req.on('error', (error) => clientErrors.push(error));
    const reply = new Promise<Reply>((resolve) =>
      req.once('response', (res: IncomingMessage) => resolve(readReply(res))),
    );
    return { req, reply };
  };

  const send = async (
    opts: { headers?: Record<string, string>; body?: string | Buffer; method?: string; path?: string } = {},
  ): Promise<Reply> => {
    const body = Buffer.from(opts.body ?? BODY);
    const { req, reply } = open({ 'content-length': String(body.length), ...(opts.headers ?? GITLAB_HEADERS) }, opts);
    req.end(body);
    return within(5_000, 'answer', reply);
  };

  return {
    intake,
    logger,
    observe,
    enqueued,
    routes,
    serverRequests,
    clientErrors,
    open,
    send,
    willReturn(next: Outcome) {
      outcome = next;
    },
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Harness = Awaited<ReturnType<typeof startIntake>>;

describe('createWebhookIntake: which requests are verified GitLab deliveries', () => {
  const { isVerifiedDelivery } = createWebhookIntake({
    secret: SECRET,
    logger: new CapturingLogger(),
    enqueue: async () => 'queued',
  });
  const delivery = (method: string, url: string, token?: string) =>
    isVerifiedDelivery({
      method,
      url,
      headers: token === undefined ? {} : { 'x-gitlab-token': token },
    } as unknown as IncomingMessage);

  it(
    'says yes to a POST to /webhooks/gitlab, with or without ' + 'a query string, carrying the right X-Gitlab-Token',
    () => {
      expect(WEBHOOK_PATH).toBe('/webhooks/gitlab');
      expect(delivery('POST', '/webhooks/gitlab', SECRET)).toBe(true);
      expect(delivery('POST', '/webhooks/gitlab?source=gitlab', SECRET)).toBe(true);
    },
  );

  it('says no to other methods and other paths, even with the right token', () => {
    expect(delivery('GET', '/webhooks/gitlab', SECRET)).toBe(false);
    expect(delivery('PUT', '/webhooks/gitlab', SECRET)).toBe(false);
    expect(delivery('POST', '/webhooks/gitlabX', SECRET)).toBe(false);
    expect(delivery('POST', '/webhooks/gitlab/extra', SECRET)).toBe(false);
    expect(delivery('POST', '/webhooks', SECRET)).toBe(false);
    expect(delivery('POST', '/other?x=/webhooks/gitlab', SECRET)).toBe(false);
  });

  it('says no to a wrong, truncated, extended or missing token', () => {
    expect(delivery('POST', '/webhooks/gitlab', 'not-the-secret')).toBe(false);
    expect(delivery('POST', '/webhooks/gitlab', SECRET.slice(0, -1))).toBe(false);
    expect(delivery('POST', '/webhooks/gitlab', `${SECRET}x`)).toBe(false);
    expect(delivery('POST', '/webhooks/gitlab', '')).toBe(false);
    expect(delivery('POST', '/webhooks/gitlab')).toBe(false);
  });
});

describe('createWebhookIntake on node:http', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startIntake();
  });

  afterEach(async () => {
    await h.close();
  });

  describe('the token check', () => {
    it('answers a wrong token with 401 JSON, counts it as unauthorized and enqueues nothing', async () => {
      const reply = await h.send({ headers: { ...GITLAB_HEADERS, 'x-gitlab-token': 'forged-token' } });
      expect(reply.status).toBe(401);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(reply.text)).toEqual({ error: 'invalid X-Gitlab-Token' });
      expect(h.routes).toEqual(['handle']);
      expect(h.enqueued).toEqual([]);
      expect(h.observe.mock.calls).toEqual([['Deployment Hook', 'unauthorized']]);
      expect(h.logger.lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          msg: 'webhook rejected: X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET',
          event: 'Deployment Hook',
        }),
      );
    });

    it('answers a missing token with 401 and counts an event without X-Gitlab-Event (as other)', async () => {
      const reply = await h.send({ headers: headersWithout('x-gitlab-token', 'x-gitlab-event') });
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.text)).toEqual({ error: 'invalid X-Gitlab-Token' });
      expect(h.enqueued).toEqual([]);
      expect(h.observe.mock.calls).toEqual([[undefined, 'unauthorized']]);
    });

    it(
      'answers 401 before reading the body: a request that ' +
        'declares 500 kB and sends a few bytes gets its answer at once',
      async () => {
        const { req, reply } = h.open({
          ...GITLAB_HEADERS,
          'x-gitlab-token': 'forged-token',
          'content-length': '500000',
        });
        req.write('{"object_kind":');
        const answer = await within(2_000, '401 while the body is still coming', reply);
        expect(answer.status).toBe(401);
        expect(JSON.parse(answer.text)).toEqual({ error: 'invalid X-Gitlab-Token' });
        expect(h.serverRequests[0]!.complete).toBe(false);
        expect(h.enqueued).toEqual([]);
        req.destroy();
      },
    );
  });

  describe('a verified delivery', () => {
    it(
      'is served without express, enqueued once with the parsed event ' +
        'and its Idempotency-Key, and answered 202 with an empty body',
      async () => {
        const reply = await h.send();
        expect(reply.status).toBe(202);
        expect(reply.text).toBe('');
        expect(h.routes).toEqual(['accept']);
        expect(h.enqueued).toEqual([{ event: DEPLOYMENT_EVENT, deliveryKey: 'delivery-0001' }]);
        expect(h.observe.mock.calls).toEqual([['Deployment Hook', 'queued']]);
        expect(h.logger.lines).toContainEqual(
          expect.objectContaining({
            level: 'info',
            msg: 'webhook accepted',
            event: 'Deployment Hook',
            deliveryKey: 'delivery-0001',
            kind: 'deployment',
            projectId: 30,
            result: 'queued',
          }),
        );
      },
    );

    it('is also accepted on the path with a query string', async () => {
      const reply = await h.send({ path: `${WEBHOOK_PATH}?source=gitlab` });
      expect(reply.status).toBe(202);
      expect(h.routes).toEqual(['accept']);
      expect(h.enqueued).toHaveLength(1);
    });

    it('is accepted by handle too when it reaches the route through express (here with a trailing slash)', async () => {
      const reply = await h.send({ path: `${WEBHOOK_PATH}/` });
      expect(reply.status).toBe(202);
      expect(h.routes).toEqual(['handle']);
      expect(h.enqueued).toEqual([{ event: DEPLOYMENT_EVENT, deliveryKey: 'delivery-0001' }]);
    });

    it('without Idempotency-Key is keyed by the SHA-256 of the raw body bytes', async () => {
      // Pretty-printed on purpose: the key must come from the bytes GitLab sent, not from the parsed object.
      const raw = JSON.stringify(DEPLOYMENT_HOOK, null, 2);
      const reply = await h.send({ headers: headersWithout('idempotency-key'), body: raw });
      expect(reply.status).toBe(202);
      const expected = `sha256-${createHash('sha256').update(Buffer.from(raw, 'utf8')).digest('hex')}`;
      expect(h.enqueued).toEqual([{ event: DEPLOYMENT_EVENT, deliveryKey: expected }]);
      expect(expected).not.toBe(`sha256-${createHash('sha256').update(BODY).digest('hex')}`);
    });

    it('that the queue already holds is answered 200 and counted as a duplicate', async () => {
      h.willReturn('duplicate');
      const reply = await h.send();
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('');
      expect(h.enqueued).toHaveLength(1);
      expect(h.observe.mock.calls).toEqual([['Deployment Hook', 'duplicate']]);
    });

    it('that cannot be stored is answered 503 with an error message and counted as unavailable', async () => {
      h.willReturn(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
      const reply = await h.send();
      expect(reply.status).toBe(503);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(reply.text) as { error?: unknown };
      expect(typeof body.error).toBe('string');
      expect(body.error).toMatch(/cannot store events/);
      expect(h.enqueued).toHaveLength(1);
      expect(h.observe.mock.calls).toEqual([['Deployment Hook', 'unavailable']]);
      expect(h.logger.lines).toContainEqual(
        expect.objectContaining({
          level: 'error',
          msg: 'webhook not stored: queue unavailable',
          deliveryKey: 'delivery-0001',
        }),
      );
    });
  });

  describe('bodies that are not a usable hook', () => {
    it('answers a body that is not JSON with 400 and enqueues nothing', async () => {
      const reply = await h.send({ body: '{"object_kind": "deployment",' });
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text)).toEqual({ error: 'body is not valid JSON' });
      expect(h.enqueued).toEqual([]);
      expect(h.observe.mock.calls).toEqual([['Deployment Hook', 'malformed']]);
    });

    it('answers an empty body with 400 as not JSON', async () => {
      const reply = await h.send({ body: '' });
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text)).toEqual({ error: 'body is not valid JSON' });
      expect(h.enqueued).toEqual([]);
    });

    it('answers JSON whose project is unusable with 400 naming the hook and the field', async () => {
      const reply = await h.send({ body: JSON.stringify({ ...DEPLOYMENT_HOOK, project: { id: 'thirty' } }) });
      expect(reply.status).toBe(400);
      const body = JSON.parse(reply.text) as { error: string };
      expect(body.error).toMatch(/^Deployment Hook payload: project\.id: /);
      expect(h.enqueued).toEqual([]);
      expect(h.observe.mock.calls).toEqual([['Deployment Hook', 'malformed']]);
      expect(h.logger.lines).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: 'webhook rejected: payload does not fit', reason: body.error }),
      );
    });

    it('answers an event greenlight does not use with 200 "ignored", without enqueueing it', async () => {
      const reply = await h.send({
        headers: { ...GITLAB_HEADERS, 'x-gitlab-event': 'Push Hook' },
        body: JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main' }),
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.text)).toEqual({ status: 'ignored', reason: 'greenlight does not use Push Hook' });
      expect(h.enqueued).toEqual([]);
      expect(h.observe.mock.calls).toEqual([['Push Hook', 'ignored']]);
    });

    it('answers a delivery without X-Gitlab-Event with 200 "ignored"', async () => {
      const reply = await h.send({ headers: headersWithout('x-gitlab-event') });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.text)).toEqual({
        status: 'ignored',
        reason: 'greenlight does not use events without X-Gitlab-Event',
      });
      expect(h.enqueued).toEqual([]);
      expect(h.observe.mock.calls).toEqual([[undefined, 'ignored']]);
    });
  });

  describe('the body size limit (1 MiB)', () => {
    it('accepts a body of exactly WEBHOOK_BODY_LIMIT bytes', async () => {
      expect(WEBHOOK_BODY_LIMIT).toBe(1024 * 1024);
      const body = BODY.padEnd(WEBHOOK_BODY_LIMIT, ' ');
      expect(Buffer.byteLength(body)).toBe(WEBHOOK_BODY_LIMIT);
      const reply = await h.send({ body });
      expect(reply.status).toBe(202);
      expect(h.enqueued).toEqual([{ event: DEPLOYMENT_EVENT, deliveryKey: 'delivery-0001' }]);
    });

    it(
      'answers a Content-Length over the limit with 413 at ' +
        'once, without reading the body, and closes the connection',
      async () => {
        const { req, reply } = h.open({ ...GITLAB_HEADERS, 'content-length': String(WEBHOOK_BODY_LIMIT + 1) });
        const closed = closeOf(await socketOf(req));
        req.write('{"object_kind":');
        const answer = await within(2_000, '413 while the body is still coming', reply);
        expect(answer.status).toBe(413);
        expect(answer.headers.connection).toBe('close');
        expect(JSON.parse(answer.text)).toEqual({ error: 'body too large' });
        await within(2_000, 'connection close', closed);
        expect(h.enqueued).toEqual([]);
        expect(h.logger.lines).toContainEqual(
          expect.objectContaining({
            level: 'warn',
            msg: 'request rejected',
            status: 413,
            bytes: WEBHOOK_BODY_LIMIT + 1,
          }),
        );
        expect(h.observe).toHaveBeenCalledWith('Deployment Hook', 'malformed');
      },
    );

    it(
      'answers a chunked body that grows past the limit with ' +
        '413 without waiting for its end, and closes the connection',
      async () => {
        const { req, reply } = h.open({ ...GITLAB_HEADERS });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const chunks = WEBHOOK_BODY_LIMIT / chunk.length + 2;
        for (let i = 0; i < chunks; i += 1) req.write(chunk);
        const socket = await socketOf(req);
        const closed = closeOf(socket);
        expect(req.getHeader('content-length')).toBeUndefined();
        // The request is never ended: only the server can answer it and close the connection.
        const answer = await within(5_000, '413 for the streamed body', reply);
        expect(answer.status).toBe(413);
        expect(answer.headers.connection).toBe('close');
        expect(JSON.parse(answer.text)).toEqual({ error: 'body too large' });
        await within(5_000, 'connection close', closed);
        expect(h.enqueued).toEqual([]);
        const rejected = h.logger.lines.find((l) => l.msg === 'request rejected');
        expect(rejected).toMatchObject({ level: 'warn', status: 413 });
        expect(rejected!.bytes).toBeGreaterThan(WEBHOOK_BODY_LIMIT);
      },
    );
  });

  describe('content encoding', () => {
    it('answers a gzip body with 415 and enqueues nothing', async () => {
      const reply = await h.send({ headers: { ...GITLAB_HEADERS, 'content-encoding': 'gzip' }, body: gzipSync(BODY) });
      expect(reply.status).toBe(415);
      expect(h.observe).toHaveBeenCalledWith('Deployment Hook', 'malformed');
      expect(JSON.parse(reply.text)).toEqual({ error: 'unsupported content encoding "gzip"' });
      expect(h.enqueued).toEqual([]);
    });

    it('takes Content-Encoding: identity as no encoding', async () => {
      const reply = await h.send({ headers: { ...GITLAB_HEADERS, 'content-encoding': 'Identity' } });
      expect(reply.status).toBe(202);
      expect(h.enqueued).toHaveLength(1);
    });
  });

  describe('a client that goes away', () => {
    it(
      'enqueues nothing when the client aborts mid-body, ' + 'and the server goes on serving the next request',
      async () => {
        const { req } = h.open({ ...GITLAB_HEADERS, 'content-length': String(Buffer.byteLength(BODY)) });
        req.write(BODY.slice(0, 40));
        const serverReq = await waitFor(() => h.serverRequests[0], { what: 'the request to reach the server' });
        const serverSideClosed = closeOf(serverReq);
        req.destroy();
        await within(2_000, 'server side close', serverSideClosed);
        expect(serverReq.complete).toBe(false);
        expect(h.enqueued).toEqual([]);
        expect(h.logger.lines).toContainEqual(
          expect.objectContaining({ level: 'debug', msg: 'webhook body not received' }),
        );

        const next = await h.send();
        expect(next.status).toBe(202);
        expect(h.enqueued).toEqual([{ event: DEPLOYMENT_EVENT, deliveryKey: 'delivery-0001' }]);
      },
    );
  });
});
