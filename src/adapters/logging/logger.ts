import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/**
 * Field names whose values never reach the logs: in the logged object, one or two levels below it, and in its
 * child-logger bindings. In a `headers` object the secret header names too, whatever their case.
 * (A hand-written walk: pino's `redact` option cost about 13 µs per line, ten times the rest of the line.)
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'secret',
  'clientSecret',
  'client_secret',
  'password',
  'code_verifier',
  'authorization',
  'responseUrl',
  'response_url',
]);
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'private-token',
  'x-gitlab-token',
  'x-slack-signature',
]);
const CENSOR = '[REDACTED]';
const MAX_DEPTH = 2;

function isPlainContainer(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copy on write: returns `value` itself when nothing in it is secret, else a copy with the secrets censored.
 * Plain objects and arrays only: errors go through errSerializer, which keeps no request or config.
 */
export function redactSecrets<T extends Record<string, unknown>>(value: T, depth = 0, inHeaders = false): T {
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const child = value[key];
    let next = child;
    if (SECRET_KEYS.has(key) || (inHeaders && SECRET_HEADERS.has(key.toLowerCase()))) next = CENSOR;
    else if (depth < MAX_DEPTH && isPlainContainer(child))
      next = redactSecrets(child, depth + 1, key.toLowerCase() === 'headers');
    if (next !== child) {
      out ??= Array.isArray(value) ? Object.assign([], value) : { ...value };
      out[key] = next;
    }
  }
  return (out ?? value) as T;
}

/** Known secret shapes, scrubbed from any log line that still carries one in free text. */
const SECRET_PATTERNS: RegExp[] = [
  /xox[abposr]-[A-Za-z0-9-]+/g,
  /xapp-[A-Za-z0-9-]+/g,
  /glpat-[A-Za-z0-9_-]+/g,
  /gloas-[A-Za-z0-9_-]+/g,
  /hooks\.slack\.com\/[A-Za-z0-9/_-]+/g,
];

export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, '[REDACTED]');
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[REDACTED]');
  return out;
}

/** Errors as name, message, code and detail; never an SDK error's request (it carries tokens). */
function errSerializer(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const e = error as Error & { code?: unknown; detail?: unknown };
  return { type: e.name, message: e.message, code: e.code, detail: e.detail, stack: e.stack };
}

type LineSink = { write(text: string): unknown };

/**
 * The lines logged during one event-loop turn, written together when it ends: one system call per turn instead
 * of one per line (a busy turn answers dozens of webhooks, each with its line). The write is synchronous, and
 * whatever is pending is written when the process exits (process.exit, a crash), so a line waits at most for the
 * turn that logged it.
 */
export function batchLinesPerTurn(out: LineSink): LineSink & { flush(): void } {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    out.write(text);
  };
  return {
    write(line: string) {
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

let stdoutSink: LineSink | null = null;

/** Standard output for every logger of the process, batched per turn (see batchLinesPerTurn). */
function stdoutLines(): LineSink {
  if (!stdoutSink) {
    const batched = batchLinesPerTurn(pino.destination({ fd: 1, sync: true }));
    process.on('exit', batched.flush);
    stdoutSink = batched;
  }
  return stdoutSink;
}

export type LoggerOptions = { level: string; destination?: DestinationStream; secrets?: readonly string[] };

export function createLogger(opts: LoggerOptions): PinoLogger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 8);
  const destination = opts.destination ?? stdoutLines();
  const scrubbing: DestinationStream = { write: (line: string) => destination.write(scrub(line, secrets)) };
  const logger = pino(
    {
      level: opts.level,
      base: { service: 'greenlight' },
      serializers: { err: errSerializer, error: errSerializer },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object),
        bindings: (bindings) => redactSecrets(bindings),
      },
    },
    scrubbing,
  );
  // pino formats only the root's bindings; children (created from it or from each other) are redacted here.
  const pinoChild = logger.child;
  logger.child = function (this: PinoLogger, bindings, options) {
    return pinoChild.call(this, redactSecrets(bindings), options);
  } as PinoLogger['child'];
  return logger;
}
