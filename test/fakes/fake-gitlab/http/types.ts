import type { TokenKind } from '../model.ts';

/** A request as the fake's handlers see it. */
export interface Incoming {
  method: string;
  /** Path exactly as sent, without the query string (path ids stay URL-encoded: acme%2Fweb). */
  rawPath: string;
  url: URL;
  query: Record<string, string>;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyText: string;
  /** Parsed JSON or form body (object), the raw text for other types, undefined when empty. */
  body: unknown;
  /** Grape-style params: query merged with an object body (body wins). */
  params: Record<string, unknown>;
  /** Set when a JSON body did not parse. */
  bodyError: string | null;
}

export interface HttpResult {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export interface ActingUser {
  id: number;
  username: string;
}

export interface RecordedRequest {
  /** 0-based position in fake.requests. */
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  /** Route pattern that matched, e.g. "POST /projects/:id/deployments/:deployment_id/approval"; null = unexpected. */
  route: string | null;
  status: number;
  responseBody: unknown;
  /**
   * The user the request acted as (the Sudo target with sudo); null when
   * authentication failed. For injected failures: who it would have acted as.
   */
  actingUser: ActingUser | null;
  /** The token's own user. */
  tokenUser: ActingUser | null;
  viaSudo: boolean;
  tokenKind: TokenKind | null;
  /** True when the response came from failNext or the rate limiter, not from the fake's logic. */
  injected: boolean;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): HttpResult => ({
  status,
  json: body,
  ...(headers ? { headers } : {}),
});

export const message = (status: number, text: unknown): HttpResult => json(status, { message: text });
