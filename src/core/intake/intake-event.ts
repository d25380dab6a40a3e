import { z } from 'zod';

/**
 * What a GitLab webhook delivery asks greenlight to look at, as the webhook route normalises it
 * (src/entrypoints/http/webhook-events.ts) and the intake queue carries it. Nothing in it is trusted for
 * decisions: the worker re-reads GitLab. The queue's consumers parse it with this schema.
 */
export const IntakeEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('deployment'),
    projectId: z.number().int().positive(),
    projectPath: z.string(),
    /** null when GitLab did not name it (versions before deployment_id): `lookup` says what identifies it */
    deploymentId: z.number().int().positive().nullable(),
    status: z.string(),
    statusChangedAt: z.number().nullable(),
    environment: z.string(),
    lookup: z
      .object({ deployableId: z.number().int().positive().nullable(), shortSha: z.string().nullable() })
      .optional(),
  }),
  z.object({
    kind: z.literal('pipeline'),
    projectId: z.number().int().positive(),
    projectPath: z.string(),
    status: z.string(),
    environments: z.array(z.string()),
  }),
  z.object({
    kind: z.literal('job'),
    projectId: z.number().int().positive(),
    status: z.string(),
    environment: z.string().nullable(),
    failureReason: z.string().nullable(),
  }),
]);
export type IntakeEvent = z.infer<typeof IntakeEvent>;
