import type { Redis } from 'ioredis';
import type { AuditEntry } from '../../core/approvals/handle-click.ts';
import type { Keyspace } from './connection.ts';

export type { AuditEntry };

export type AuditRecord = AuditEntry & { /** stream id: milliseconds-sequence */ id: string };

export type AuditLog = {
  append(entry: AuditEntry): Promise<void>;
  /** Oldest first, from `sinceMs` up to `untilMs` (inclusive), at most `limit` entries. */
  read(query: { sinceMs: number; untilMs?: number; limit?: number }): Promise<AuditRecord[]>;
};

export const AUDIT_FIELDS = [
  'at',
  'team',
  'slackUser',
  'gitlabUser',
  'project',
  'deployment',
  'action',
  'comment',
  'outcome',
  'error',
] as const satisfies ReadonlyArray<keyof AuditEntry>;

/** About this many entries are kept (the stream is trimmed approximately, which is cheap). */
export const AUDIT_MAX_LENGTH = 100_000;

/** The audit trail: a capped Redis stream `{prefix}:audit`, one entry per decision attempt. */
export function createAuditLog(
  redis: Redis,
  keys: Pick<Keyspace, 'audit'>,
  opts: { maxLength?: number } = {},
): AuditLog {
  const maxLength = opts.maxLength ?? AUDIT_MAX_LENGTH;
  return {
    async append(entry) {
      const fields = AUDIT_FIELDS.flatMap((name) => [name, entry[name] ?? '']);
      await redis.xadd(keys.audit, 'MAXLEN', '~', String(maxLength), '*', ...fields);
    },
    async read({ sinceMs, untilMs, limit = 10_000 }) {
      const rows = await redis.xrange(
        keys.audit,
        String(Math.max(0, Math.floor(sinceMs))),
        untilMs === undefined ? '+' : String(Math.floor(untilMs)),
        'COUNT',
        limit,
      );
      return rows.map(([id, flat]) => {
        const record: Record<string, string> = { id };
        for (const name of AUDIT_FIELDS) record[name] = '';
        for (let i = 0; i + 1 < flat.length; i += 2)
          if ((AUDIT_FIELDS as readonly string[]).includes(flat[i]!)) record[flat[i]!] = flat[i + 1]!;
        return record as AuditRecord;
      });
    },
  };
}
