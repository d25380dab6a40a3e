/** One Block Kit block or element, as the builders in this folder make them (Slack checks the shape). */
export type Block = Record<string, unknown>;

/** A message: its fallback text and its blocks. */
export type SlackMessage = { text: string; blocks: Block[] };
