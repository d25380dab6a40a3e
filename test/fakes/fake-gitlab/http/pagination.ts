// Offset pagination (§5): page, per_page (default 20, max 100), x-* headers and Link.
import { json, type HttpResult, type Incoming } from './types.ts';

const MAX_COUNTED = 10_000;

function intParam(incoming: Incoming, name: string): number | null | 'invalid' {
  const raw = incoming.params[name];
  if (raw === undefined || raw === '') return null;
  const value = Number(raw);
  return Number.isInteger(value) ? value : 'invalid';
}

export function paginate<T>(
  items: readonly T[],
  incoming: Incoming,
  baseUrl: string,
): { ok: true; items: T[]; headers: Record<string, string> } | { ok: false; result: HttpResult } {
  const pageParam = intParam(incoming, 'page');
  const perPageParam = intParam(incoming, 'per_page');
  if (pageParam === 'invalid') return { ok: false, result: json(400, { error: 'page is invalid' }) };
  if (perPageParam === 'invalid') return { ok: false, result: json(400, { error: 'per_page is invalid' }) };
  const page = pageParam === null || pageParam < 1 ? 1 : pageParam;
  const perPage = perPageParam === null || perPageParam < 1 ? 20 : Math.min(perPageParam, 100);
  const total = items.length;
  const totalPages = Math.max(Math.ceil(total / perPage), 1);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const counted = total <= MAX_COUNTED;

  const link = (p: number): string => {
    const url = new URL(`${baseUrl}${incoming.rawPath}`);
    for (const [key, value] of Object.entries(incoming.query)) url.searchParams.set(key, value);
    url.searchParams.set('page', String(p));
    url.searchParams.set('per_page', String(perPage));
    return url.toString();
  };
  const hasNext = page * perPage < total;
  const links: string[] = [];
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
  if (hasNext) links.push(`<${link(page + 1)}>; rel="next"`);
  links.push(`<${link(1)}>; rel="first"`);
  if (counted) links.push(`<${link(totalPages)}>; rel="last"`);

  const headers: Record<string, string> = {
    'x-page': String(page),
    'x-per-page': String(perPage),
    'x-next-page': hasNext ? String(page + 1) : '',
    'x-prev-page': page > 1 ? String(page - 1) : '',
    link: links.join(', '),
  };
  if (counted) {
    headers['x-total'] = String(total);
    headers['x-total-pages'] = String(totalPages);
  }
  return { ok: true, items: slice, headers };
}
