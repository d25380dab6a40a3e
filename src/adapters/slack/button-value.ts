import { z } from 'zod';

/**
 * What the decision and Changes buttons carry: the deployment (`d`), its project (`p`) and, on decision
 * buttons, the card version the person saw (`v`). One schema: the builders encode with it, the click
 * listeners decode with it (src/entrypoints/slack/payloads.ts).
 */
export const ButtonValue = z.object({
  d: z.number().int().positive(),
  p: z.number().int().positive(),
  v: z.number().int().nonnegative().optional(),
});
export type ButtonValue = z.infer<typeof ButtonValue>;

export function encodeButtonValue(value: ButtonValue): string {
  return JSON.stringify(ButtonValue.parse(value));
}
