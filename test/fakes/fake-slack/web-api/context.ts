import type { AppRegistry } from '../apps.ts';
import type { CallLog } from '../call-log.ts';
import type { Clock } from '../clock.ts';
import type { Faults } from '../faults.ts';
import type { MessageStore } from '../messages.ts';
import type { OpenIdProvider } from '../openid.ts';
import type { TriggerRegistry } from '../triggers.ts';
import type { Identity, Json } from '../types.ts';
import type { ViewStore } from '../views.ts';
import type { Workspace } from '../workspace.ts';

/** Everything a Web API method implementation may touch. */
export interface FakeState {
  identity: Identity;
  clock: Clock;
  workspace: Workspace;
  messages: MessageStore;
  views: ViewStore;
  triggers: TriggerRegistry;
  faults: Faults;
  log: CallLog;
  openid: OpenIdProvider;
  /** Apps created with apps.manifest.create and installed through OAuth. */
  apps: AppRegistry;
  /** The fake's own base URL (http://127.0.0.1:port), once it listens. */
  baseUrl(): string;
}

/** Thrown by method implementations; becomes HTTP 200 `{ ok: false, error, ...extra }`. */
export class ApiFailure extends Error {
  readonly error: string;
  readonly extra: Json;
  /** Set when a well-behaved app should never cause this (recorded in unexpected()). */
  readonly unexpected: string | undefined;

  constructor(error: string, extra: Json = {}, unexpected?: string) {
    super(error);
    this.error = error;
    this.extra = extra;
    this.unexpected = unexpected;
  }
}

export function fail(error: string, extra: Json = {}): never {
  throw new ApiFailure(error, extra);
}

export function invalidArguments(...messages: string[]): never {
  throw new ApiFailure('invalid_arguments', { response_metadata: { messages } });
}

export function requireScope(state: FakeState, scope: string): void {
  if (!state.workspace.hasScope(scope)) {
    fail('missing_scope', { needed: scope, provided: state.workspace.scopes.join(',') });
  }
}

/** Decoded Web API arguments. Form values are strings; JSON bodies may carry real booleans/numbers/objects. */
export class Args {
  readonly raw: Json;

  constructor(raw: Json) {
    this.raw = raw;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  str(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    return typeof value === 'string' ? value : String(value);
  }

  required(name: string): string {
    const value = this.str(name);
    if (value === undefined || value === '') invalidArguments(`[ERROR] missing required field: ${name}`);
    return value;
  }

  bool(name: string): boolean {
    const value = this.raw[name];
    return value === true || value === 'true' || value === '1' || value === 1;
  }

  int(name: string, fallback: number): number {
    const value = Number(this.raw[name]);
    return this.has(name) && Number.isFinite(value) ? Math.trunc(value) : fallback;
  }

  /** A JSON-typed argument: already decoded, or the raw string when it was not valid JSON. */
  json(name: string): unknown {
    return this.raw[name];
  }
}

/** Form fields Slack treats as JSON documents. */
export const JSON_FIELDS = ['blocks', 'view', 'metadata', 'attachments'];

/** Parses a Web API request body the way Slack does: form-encoded (WebClient) or JSON. */
export function decodeArgs(contentType: string | undefined, rawBody: string, query: URLSearchParams): Json {
  const args: Json = {};
  for (const [key, value] of query) args[key] = value;
  if (rawBody.length === 0) return decodeJsonFields(args);
  if ((contentType ?? '').toLowerCase().startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (typeof parsed === 'object' && parsed !== null) Object.assign(args, parsed);
    } catch {
      args.__invalid_json = rawBody;
    }
    return args;
  }
  for (const [key, value] of new URLSearchParams(rawBody)) args[key] = value;
  return decodeJsonFields(args);
}

function decodeJsonFields(args: Json): Json {
  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value);
    } catch {
      // left as the raw string; the method reports invalid_blocks_format / invalid_arguments
    }
  }
  return args;
}
