import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallLog } from './call-log.ts';
import { randomId } from './clock.ts';
import { SLACK_DEADLINE_MS } from './signed-request.ts';
import type { DriverResponse, Identity, Json } from './types.ts';
import type { ApiResponse } from './web-api/index.ts';

/**
 * Pass as `appUrl` to the driver (sendCommand, clickButton, submitView, sendEvent, ...) to deliver the request
 * over the app's Socket Mode connection instead of an HTTP POST.
 */
export const SOCKET_MODE = 'socket-mode:';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketEnvelope {
  envelopeId: string;
  type: EnvelopeType;
  payload: Json;
  /** Which connection (1, 2, ... in order of opening) it went to. */
  connection: number;
  sentAt: number;
  /** What the app acknowledged with (`payload` of its ack message), once it did. */
  ack?: { payload: Json; at: number };
}

export interface SocketModeView {
  /** Open WebSocket connections (Slack allows up to 10 per app). */
  connections(): number;
  waitForConnection(timeoutMs?: number): Promise<void>;
  envelopes(): SocketEnvelope[];
  /** Slack's "refresh_requested": every connection is told to reconnect (Slack rotates its servers). */
  requestReconnect(): void;
}

type Connection = { id: number; socket: WebSocket };

/**
 * Slack's side of Socket Mode: apps.connections.open (with the app-level token) hands out a one-time
 * WebSocket URL; on connecting the app gets `hello`; each request arrives as an envelope the app must
 * acknowledge with `{ envelope_id, payload }` within 3 s. Ground truth: the reference, section 3.
 */
export class SocketModeHub implements SocketModeView {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly open = new Map<number, Connection>();
  private readonly sent: SocketEnvelope[] = [];
  private readonly waiting = new Map<string, (payload: Json) => void>();
  private baseUrl = '';
  private nextConnection = 1;
  private turn = 0;

  private readonly deps: { identity: Identity; log: CallLog };

  constructor(deps: { identity: Identity; log: CallLog }) {
    this.deps = deps;
  }

  /** Serves WebSocket upgrades on /link of the fake's HTTP server. */
  attach(server: Server, httpUrl: string): void {
    this.baseUrl = httpUrl.replace(/^http/, 'ws');
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://fake-slack.invalid');
      const ticket = url.searchParams.get('ticket') ?? '';
      if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  /** POST /api/apps.connections.open: needs the app-level token (xapp-), not the bot token. */
  connectionsOpen(token: string | undefined, at: number): ApiResponse {
    const headers = { 'content-type': 'application/json; charset=utf-8' };
    let body: Json;
    if (!token) body = { ok: false, error: 'not_authed' };
    else if (token !== this.deps.identity.appToken) body = { ok: false, error: 'invalid_auth' };
    else {
      const ticket = randomId('', 32);
      this.tickets.add(ticket);
      body = { ok: true, url: `${this.baseUrl}/link/?ticket=${ticket}&app_id=${this.deps.identity.appId}` };
    }
    const response = { status: 200, headers, body };
    this.deps.log.add({ method: 'apps.connections.open', args: {}, token, at, response: structuredClone(response) });
    return response;
  }

  connections(): number {
    return this.open.size;
  }

  async waitForConnection(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.open.size === 0) {
      if (Date.now() > deadline)
        throw new Error('fake-slack: no Socket Mode connection; was the app started with SLACK_APP_TOKEN?');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  envelopes(): SocketEnvelope[] {
    return structuredClone(this.sent);
  }

  requestReconnect(): void {
    for (const { socket } of this.open.values())
      socket.send(
        JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'fake-slack' } }),
      );
  }

  /** Delivers what would have been an HTTP request to the app over one of its connections, and waits for the ack. */
  async deliverHttpBody(rawBody: string, contentType: string, timeoutMs = 10_000): Promise<DriverResponse> {
    const { type, payload } = toEnvelope(rawBody, contentType);
    const started = performance.now();
    const ack = await this.deliver(type, payload, timeoutMs);
    const elapsedMs = Math.round(performance.now() - started);
    const empty = Object.keys(ack).length === 0;
    return {
      status: 200,
      headers: {},
      body: empty ? '' : JSON.stringify(ack),
      json: empty ? undefined : ack,
      elapsedMs,
      timedOut: elapsedMs > SLACK_DEADLINE_MS,
    };
  }

  async deliver(type: EnvelopeType, payload: Json, timeoutMs = 10_000): Promise<Json> {
    const connections = [...this.open.values()];
    if (connections.length === 0) throw new Error('fake-slack: the app has no Socket Mode connection to deliver to');
    const connection = connections[this.turn++ % connections.length]!;
    const envelope: SocketEnvelope = {
      envelopeId: randomUUID(),
      type,
      payload: structuredClone(payload),
      connection: connection.id,
      sentAt: Date.now(),
    };
    this.sent.push(envelope);
    const acked = new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(envelope.envelopeId);
        reject(
          new Error(
            `fake-slack: the app did not acknowledge ${type} envelope ${envelope.envelopeId} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiting.set(envelope.envelopeId, (ackPayload) => {
        clearTimeout(timer);
        resolve(ackPayload);
      });
    });
    connection.socket.send(
      JSON.stringify({
        envelope_id: envelope.envelopeId,
        type,
        payload,
        accepts_response_payload: type !== 'events_api',
        ...(type === 'events_api' && { retry_attempt: 0, retry_reason: '' }),
      }),
    );
    return acked;
  }

  async close(): Promise<void> {
    for (const { socket } of this.open.values()) socket.terminate();
    this.open.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    const connection = { id: this.nextConnection++, socket };
    this.open.set(connection.id, connection);
    socket.on('close', () => this.open.delete(connection.id));
    socket.on('message', (data) => this.onAck(String(data)));
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.open.size,
        debug_info: { host: 'fake-slack', approximate_connection_time: 18060 },
        connection_info: { app_id: this.deps.identity.appId },
      }),
    );
  }

  private onAck(text: string): void {
    let message: { envelope_id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    const id = typeof message.envelope_id === 'string' ? message.envelope_id : '';
    const payload = (typeof message.payload === 'object' && message.payload !== null ? message.payload : {}) as Json;
    const envelope = this.sent.find((e) => e.envelopeId === id);
    if (envelope && !envelope.ack) envelope.ack = { payload: structuredClone(payload), at: Date.now() };
    this.waiting.get(id)?.(payload);
    this.waiting.delete(id);
  }
}

/** The envelope Slack sends over Socket Mode for what it would otherwise POST. */
function toEnvelope(rawBody: string, contentType: string): { type: EnvelopeType; payload: Json } {
  if (contentType.startsWith('application/json')) return { type: 'events_api', payload: JSON.parse(rawBody) as Json };
  const form = new URLSearchParams(rawBody);
  const interaction = form.get('payload');
  if (interaction !== null) return { type: 'interactive', payload: JSON.parse(interaction) as Json };
  return { type: 'slash_commands', payload: Object.fromEntries(form) };
}
