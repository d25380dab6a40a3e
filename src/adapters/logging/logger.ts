import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Paths never written to logs, whatever object they appear in. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  '*.refresh_token',
  'secret',
  '*.secret',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'password',
  '*.password',
  'code_verifier',
  '*.code_verifier',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["private-token"]',
  '*.headers["private-token"]',
  'headers["x-gitlab-token"]',
  '*.headers["x-gitlab-token"]',
  'headers["x-slack-signature"]',
  '*.headers["x-slack-signature"]',
  'responseUrl',
  '*.responseUrl',
  'response_url',
  '*.response_url',
];

/** Known secret shapes, scrubbed from any log line that still carries one in free text. */
const SECRET_PATTERNS: RegExp[] = [/xox[abposr]-[A-Za-z0-9-]+/g, /xapp-[A-Za-z0-9-]+/g, /glpat-[A-Za-z0-9_-]+/g, /gloas-[A-Za-z0-9_-]+/g, /hooks\.slack\.com\/[A-Za-z0-9/_-]+/g];

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

export type LoggerOptions = { level: string; destination?: DestinationStream; secrets?: readonly string[] };

export function createLogger(opts: LoggerOptions): PinoLogger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 8);
  const destination = opts.destination ?? pino.destination({ fd: 1, sync: false });
  const scrubbing: DestinationStream = { write: (line: string) => destination.write(scrub(line, secrets)) };
  return pino(
    {
      level: opts.level,
      base: { service: 'greenlight' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      serializers: { err: errSerializer, error: errSerializer },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    scrubbing,
  );
}
