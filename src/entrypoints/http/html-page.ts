import type { Response } from 'express';

/**
 * Headers for every page a browser sees: nothing loads from anywhere, nothing frames it, no referrer
 * leaks the OAuth code in the URL, and nothing caches it.
 */
export const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A small self-contained page: a heading and one or two sentences, never a stack trace. */
export function sendPage(res: Response, status: number, page: { title: string; message: string; ok?: boolean }): void {
  const color = page.ok ? '#14532d' : '#7f1d1d';
  const style =
    'body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2937}' +
    `h1{color:${color};font-size:1.5rem}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>greenlight: ${escapeHtml(page.title)}</title>
<style>${style}</style>
</head><body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p></body></html>
`;
  res.status(status).set(PAGE_HEADERS).type('html').send(html);
}
