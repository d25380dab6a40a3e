import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.ts';
import { globProblem } from '../core/routing/glob.ts';
import type {
  ChangesSwitch,
  EscalationLevel,
  ReminderPolicy,
  RunAfterApproval,
  Weekday,
  WorkingHours,
} from '../core/policy.ts';

/** The YAML policy file (CONFIG_FILE). docs/configuration.md is generated from these descriptions. */

const DAY_MS = 86_400_000;

/**
 * A duration (`500ms`, `10s`, `30m`, `2h`, `1d`, or a number of seconds) within bounds: a value out of them is
 * refused at start, with the other problems, instead of failing later (a sweep every 0 s, a reminder in 10^11 days
 * that no date can hold).
 */
const duration = (bounds: { min: number; max: number }) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value * 1000 : parseDuration(value);
    if (ms === null || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; write 500ms, 10s, 30m, 2h or 1d` });
      return z.NEVER;
    }
    if (ms < bounds.min || ms > bounds.max) {
      const range = `${formatDuration(bounds.min)} to ${formatDuration(bounds.max)}`;
      ctx.addIssue({ code: 'custom', message: `"${value}" is out of bounds; write a duration from ${range}` });
      return z.NEVER;
    }
    return Math.round(ms);
  });

/** Route globs are matched in linear time (src/core/routing/glob.ts); what it refuses is refused at start. */
const glob = z.string().superRefine((pattern, ctx) => {
  const problem = globProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: `"${pattern.slice(0, 60)}" ${problem}` });
});

const channelId = z.string().regex(/^[CGD][A-Z0-9]+$/, 'must be a channel ID like C0123ABCD');

const WEEKDAYS: readonly Weekday[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

const days = z.union([z.string(), z.array(z.string())]).transform((value, ctx): Weekday[] => {
  const parts = (Array.isArray(value) ? value : value.split(',')).map((p) => p.trim()).filter(Boolean);
  const out = new Set<Weekday>();
  for (const part of parts) {
    const [from, to] = part.split('-').map((d) => d.trim());
    const a = WEEKDAYS.indexOf(from as Weekday);
    const b = to === undefined ? a : WEEKDAYS.indexOf(to as Weekday);
    if (a < 0 || b < 0) {
      ctx.addIssue({
        code: 'custom',
        message: `"${part}" is not a day or range of days; write Mon-Fri or Mon,Wed,Fri`,
      });
      return z.NEVER;
    }
    for (let i = a; ; i = (i + 1) % 7) {
      out.add(WEEKDAYS[i]!);
      if (i === b) break;
    }
  }
  if (out.size === 0) {
    ctx.addIssue({ code: 'custom', message: 'name at least one day, e.g. Mon-Fri' });
    return z.NEVER;
  }
  return WEEKDAYS.filter((d) => out.has(d));
});

const clock = z.string().transform((value, ctx) => {
  const m = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(value.trim());
  const minute = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || minute > 24 * 60) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a time of day; write "09:00"` });
    return z.NEVER;
  }
  return minute;
});

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not an IANA time zone such as Europe/Berlin' },
);

const workingHours = z
  .union([
    z.literal(false),
    z.literal('off'),
    z
      .strictObject({
        days: days.default(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).describe('Days, e.g. Mon-Fri or Mon,Wed,Fri.'),
        from: clock.describe('Start of the working day, "09:00".'),
        to: clock.describe('End of the working day, "18:00" ("24:00" = midnight).'),
        timezone: timezone.describe('IANA time zone, e.g. Europe/Berlin; daylight-saving changes are followed.'),
      })
      .refine((w) => w.from < w.to, { message: '`from` must be before `to`' }),
  ])
  .transform((w): WorkingHours | null =>
    w === false || w === 'off' ? null : { days: w.days, fromMinute: w.from, toMinute: w.to, timezone: w.timezone },
  )
  .describe(
    'Outside these hours the reminder and escalation clocks pause (a reminder due ' +
      'at night waits for the morning); `off` (e.g. in a route) means around the clock.',
  );

const reminders = z
  .union([
    z.literal(false),
    z.literal('off'),
    z.strictObject({
      after: duration({ min: 0, max: 30 * DAY_MS }).describe(
        'First reminder after the card has waited this long (at most 30d).',
      ),
      every: duration({ min: 1_000, max: 30 * DAY_MS })
        .default(3_600_000)
        .describe('Then every ... (1s to 30d).'),
      max: z.number().int().min(0).max(100).default(3).describe('At most this many reminders.'),
    }),
  ])
  .transform((r): ReminderPolicy | null =>
    r === false || r === 'off' ? null : { afterMs: r.after, everyMs: r.every, max: r.max },
  )
  .describe('Thread replies on the card that mention who can still approve; `off` disables them.');

const mention = z
  .string()
  .regex(
    /^(<@[UW][A-Z0-9]+>|<!subteam\^[A-Z0-9]+>|<!here>|<!channel>|[UW][A-Z0-9]+)$/,
    'must be <@U...>, <!subteam^S...>, <!here> or a user ID',
  );

const escalation = z
  .array(
    z
      .strictObject({
        after: duration({ min: 0, max: 30 * DAY_MS }).describe(
          'Escalate once the card has waited this long (at most 30d).',
        ),
        channel: channelId.describe('Channel the escalation is posted in.'),
        mention: z.array(mention).default([]).describe('Who to mention: <@U...>, <!subteam^S...> or user IDs.'),
      })
      .transform((e): EscalationLevel => ({
        afterMs: e.after,
        channel: e.channel,
        mention: e.mention.map((m) => (/^[UW]/.test(m) ? `<@${m}>` : m)),
      })),
  )
  .describe('Escalation levels, in order.');

const runAfterApproval = z
  .enum(['off', 'button'])
  .describe('button: offer "Run deployment" once fully approved.') as z.ZodType<RunAfterApproval>;

const changes = z
  .union([z.enum(['on', 'off']), z.boolean()])
  .transform((v): ChangesSwitch => (v === true ? 'on' : v === false ? 'off' : v))
  .describe(
    'What the deployment changes on cards, lists, the Home tab and DMs: what runs there now, the commits and ' +
      'merge requests since, the pipeline, a deploy freeze. `off` (e.g. for heavy repositories) reads none of it.',
  );

const routePolicyFields = {
  channel: channelId.optional().describe('Channel for cards.'),
  reminders: reminders.optional(),
  escalation: escalation.optional(),
  working_hours: workingHours.optional(),
  run_after_approval: runAfterApproval.optional(),
  changes: changes.optional(),
};

const route = z
  .strictObject({
    match: z
      .strictObject({
        project: glob
          .optional()
          .describe(
            'Project path glob: * and ? within one path segment, ** as a whole segment across any number of ' +
              'segments (acme/payments/*, acme/**); matched in linear time (minimatch).',
          ),
        environment: glob.optional().describe('Environment name glob, the same syntax (prod*, review/*).'),
        tier: z.string().optional().describe('Deployment tier: production, staging, testing, development or other.'),
      })
      .describe('All given fields must match.'),
    ...routePolicyFields,
  })
  .describe('First matching route wins; unset fields inherit the top level.');

export const policyFileSchema = z
  .strictObject({
    ...routePolicyFields,
    projects: z
      .array(z.union([z.string().min(1), z.number().int().positive()]))
      .default([])
      .describe('Projects (path or id) swept for blocked deployments, besides projects seen in webhooks.'),
    groups: z
      .array(z.union([z.string().min(1), z.number().int().positive()]))
      .default([])
      .describe('Every project of these groups (and subgroups) is swept.'),
    sweep: z
      .strictObject({
        every: duration({ min: 1_000, max: DAY_MS })
          .default(300_000)
          .describe(
            'How often the sweep runs (1s to 1d): it scans the projects that can have deployments waiting ' +
              'and reads every open card.',
          ),
        list_every: duration({ min: 1_000, max: 7 * DAY_MS })
          .default(3_600_000)
          .describe(
            'How often every project of `groups` and `projects` is listed again (1s to 7d); also at start and ' +
              'after Redis lost its data.',
          ),
        classify_every: duration({ min: 1_000, max: 30 * DAY_MS })
          .default(DAY_MS)
          .describe(
            "How often each project's protected environments (its own and its groups') are read again (1s to " +
              '30d): only projects whose environments require approvals are scanned at every sweep.',
          ),
      })
      .default({ every: 300_000, list_every: 3_600_000, classify_every: DAY_MS })
      .describe('The sweep lists blocked deployments of known projects and repairs what webhooks missed.'),
    four_eyes: z
      .strictObject({
        forbid_commit_author: z.boolean().default(false).describe('Also refuse the author of the deployed commit.'),
      })
      .default({ forbid_commit_author: false })
      .describe('The creator of a deployment can never approve it; this adds more people who cannot.'),
    users: z
      .array(
        z.strictObject({
          slack: z
            .string()
            .regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user ID like U0123ABCD')
            .describe('Slack member ID (profile > ⋯ > Copy member ID).'),
          gitlab: z.string().min(1).describe('GitLab username.'),
        }),
      )
      .default([])
      .describe('Explicit Slack -> GitLab user mapping (sudo mode, and overrides of e-mail matching).'),
    routes: z.array(route).default([]).describe('Per project/environment/tier policy; the first matching route wins.'),
  })
  .describe('greenlight policy file');

export type PolicyFile = z.output<typeof policyFileSchema>;
