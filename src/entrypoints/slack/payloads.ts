import { z } from 'zod';

/** The bits of Slack interaction payloads greenlight reads (Bolt has verified the signature). */
export const ButtonValue = z
  .string()
  .max(2000)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'button value is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ d: z.number().int().positive(), p: z.number().int().positive(), v: z.number().int().nonnegative().optional() }));

export const BlockActionBody = z.object({
  user: z.object({ id: z.string().min(1), team_id: z.string().optional() }),
  team: z.object({ id: z.string().min(1) }).nullish(),
  channel: z.object({ id: z.string().min(1) }).nullish(),
  container: z.object({ type: z.string(), channel_id: z.string().optional(), message_ts: z.string().optional(), is_ephemeral: z.boolean().optional() }).nullish(),
  message: z.object({ ts: z.string() }).nullish(),
  trigger_id: z.string().min(1),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

export const RejectMetadata = z
  .string()
  .max(3000)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'private_metadata is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ d: z.number().int().positive(), p: z.number().int().positive(), c: z.string().nullable(), ts: z.string().nullable() }));

export type Click = { deploymentId: number; projectId: number; userId: string; teamId: string; channel: string | null; messageTs: string | null; triggerId: string };

/** Parses a button click; null when the payload does not carry a usable greenlight button. */
export function parseClick(body: unknown): Click | null {
  const parsed = BlockActionBody.safeParse(body);
  if (!parsed.success) return null;
  const b = parsed.data;
  const value = ButtonValue.safeParse(b.actions[0]!.value ?? '');
  if (!value.success) return null;
  return {
    deploymentId: value.data.d,
    projectId: value.data.p,
    userId: b.user.id,
    teamId: b.team?.id ?? b.user.team_id ?? '',
    channel: b.channel?.id ?? b.container?.channel_id ?? null,
    messageTs: b.message?.ts ?? b.container?.message_ts ?? null,
    triggerId: b.trigger_id,
  };
}
