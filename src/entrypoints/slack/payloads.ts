import { z } from 'zod';
import { ButtonValue } from '../../adapters/slack/button-value.ts';

/** The bits of Slack interaction payloads greenlight reads (Bolt has verified the signature). */
const jsonText = (max: number, what: string) =>
  z
    .string()
    .max(max)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${what} is not JSON` });
        return z.NEVER;
      }
    });

/** A button's value as Slack sends it back: JSON text of the ButtonValue the builders encoded. */
export const ButtonValueText = jsonText(2000, 'button value').pipe(ButtonValue);

/** "Approve for <rule>" on the notice that asks which rule. */
export const ApproveAsValue = jsonText(2000, 'button value').pipe(
  z.object({ d: z.number().int().positive(), p: z.number().int().positive(), r: z.string().min(1).max(1000) }),
);

export const BlockActionBody = z.object({
  user: z.object({ id: z.string().min(1), team_id: z.string().optional() }),
  team: z.object({ id: z.string().min(1) }).nullish(),
  channel: z.object({ id: z.string().min(1) }).nullish(),
  container: z
    .object({
      type: z.string(),
      channel_id: z.string().optional(),
      message_ts: z.string().optional(),
      is_ephemeral: z.boolean().optional(),
    })
    .nullish(),
  message: z.object({ ts: z.string() }).nullish(),
  trigger_id: z.string().min(1),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

export const RejectMetadata = jsonText(3000, 'private_metadata').pipe(
  z.object({
    d: z.number().int().positive(),
    p: z.number().int().positive(),
    c: z.string().nullable(),
    ts: z.string().nullable(),
  }),
);

export const ApproveMetadata = jsonText(3000, 'private_metadata').pipe(
  z.object({
    d: z.number().int().positive(),
    p: z.number().int().positive(),
    c: z.string().nullable(),
    ts: z.string().nullable(),
    r: z.array(z.string().min(1)).min(1).max(10),
  }),
);

export type Click = {
  deploymentId: number;
  projectId: number;
  userId: string;
  teamId: string;
  channel: string | null;
  messageTs: string | null;
  triggerId: string;
};

/** Parses a button click; null when the payload does not carry a usable greenlight button. */
export function parseClick(body: unknown): Click | null {
  const parsed = BlockActionBody.safeParse(body);
  if (!parsed.success) return null;
  const value = ButtonValueText.safeParse(parsed.data.actions[0]!.value ?? '');
  if (!value.success) return null;
  return clickOf(parsed.data, value.data);
}

/** A click on "Approve for <rule>": the click, and the rule's exact name for represented_as. */
export function parseApproveAs(body: unknown): { click: Click; representedAs: string } | null {
  const parsed = BlockActionBody.safeParse(body);
  if (!parsed.success) return null;
  const value = ApproveAsValue.safeParse(parsed.data.actions[0]!.value ?? '');
  if (!value.success) return null;
  return { click: clickOf(parsed.data, value.data), representedAs: value.data.r };
}

function clickOf(b: z.infer<typeof BlockActionBody>, value: { d: number; p: number }): Click {
  return {
    deploymentId: value.d,
    projectId: value.p,
    userId: b.user.id,
    teamId: b.team?.id ?? b.user.team_id ?? '',
    channel: b.channel?.id ?? b.container?.channel_id ?? null,
    messageTs: b.message?.ts ?? b.container?.message_ts ?? null,
    triggerId: b.trigger_id,
  };
}
