/** Escapes text for Slack mrkdwn (control characters only, as Slack documents). */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function link(url: string | null | undefined, label: string): string {
  const safe = esc(label).replace(/\|/g, '¦');
  return url ? `<${url.replace(/[<>|]/g, encodeURIComponent)}|${safe}>` : safe;
}

/** Cuts text to a Block Kit limit without breaking a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${Array.from(text.slice(0, max - 1))
    .join('')
    .slice(0, max - 1)}…`;
}

/** Slack's date formatting: readers see their own time zone; `fallback` for old clients. */
export function slackDate(iso: string | number, format = '{date_short_pretty} {time}'): string {
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(ms)) return String(iso);
  const fallback = new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`;
}
