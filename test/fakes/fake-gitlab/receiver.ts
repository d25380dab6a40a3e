// A tiny webhook receiver for tests: records what the fake GitLab POSTs and answers as told.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** Parsed JSON body. */
  body: Record<string, unknown>;
  raw: string;
}

export interface ReceiverReply {
  status: number;
  /** Answer after this many ms (real time), e.g. to trip the webhook timeout. */
  delayMs?: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** How to answer from now on: a fixed reply or a function of the request. Default 200. */
  reply(next: ReceiverReply | ((hook: ReceivedWebhook, index: number) => ReceiverReply)): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let reply: (hook: ReceivedWebhook, index: number) => ReceiverReply = () => ({ status: 200 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // keep {}
      }
      const hook = { headers: req.headers, body, raw };
      received.push(hook);
      const answer = reply(hook, received.length - 1);
      const respond = (): void => {
        if (!res.destroyed) res.writeHead(answer.status).end();
      };
      if (answer.delayMs) setTimeout(respond, answer.delayMs).unref();
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    reply: (next) => {
      reply = typeof next === 'function' ? next : () => next;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
