import type { Deployment } from '../deployments/deployment.ts';

/**
 * What someone asked the list for: `mine` (only what they can still approve) and free-text terms. Every
 * term must match the project path, the environment name or its tier (case-insensitive, part of a word
 * is enough): `acme/web prod` = projects under acme/web, environments or tiers containing "prod".
 */
export type PendingQuery = { mine: boolean; terms: string[] };

const MINE = 'mine';
/** Button values carry the query back (Show more); Slack allows 2000 characters per value. */
const MAX_QUERY_CHARS = 500;

export function parsePendingQuery(text: string): PendingQuery {
  const words = text.slice(0, MAX_QUERY_CHARS).trim().toLowerCase().split(/\s+/).filter(Boolean);
  return { mine: words.includes(MINE), terms: [...new Set(words.filter((w) => w !== MINE))] };
}

/** The query as the person would type it again (shown in answers, carried by Show more). */
export function queryText(q: PendingQuery): string {
  return [...(q.mine ? [MINE] : []), ...q.terms].join(' ');
}

export function matchesTerms(d: Deployment, terms: readonly string[]): boolean {
  const fields = [d.project.path, d.environment.name, d.environment.tier ?? ''].map((f) => f.toLowerCase());
  return terms.every((term) => fields.some((f) => f.includes(term)));
}
