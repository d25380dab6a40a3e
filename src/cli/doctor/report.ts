/** One line of the doctor's report; problems always say how to fix them. */
export type Finding = { level: 'ok'; message: string } | { level: 'warn' | 'fail'; message: string; fix: string };

export type Section = { title: string; findings: Finding[] };

export const ok = (message: string): Finding => ({ level: 'ok', message });
export const warn = (message: string, fix: string): Finding => ({ level: 'warn', message, fix });
export const fail = (message: string, fix: string): Finding => ({ level: 'fail', message, fix });

const MARK = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]' } as const;

export function formatReport(sections: readonly Section[]): string {
  const lines: string[] = [];
  for (const section of sections) {
    lines.push(section.title);
    for (const f of section.findings) {
      lines.push(`  ${MARK[f.level]} ${f.message}`);
      if (f.level !== 'ok')
        lines.push(...f.fix.split('\n').map((l, i) => `         ${i === 0 ? 'fix: ' : '     '}${l}`));
    }
    lines.push('');
  }
  const all = sections.flatMap((s) => s.findings);
  const failures = all.filter((f) => f.level === 'fail').length;
  const warnings = all.filter((f) => f.level === 'warn').length;
  lines.push(
    failures === 0 && warnings === 0
      ? 'Everything checks out.'
      : `${plural(failures, 'problem')}, ${plural(warnings, 'warning')}.`,
  );
  return lines.join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** URLs in messages without their password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/g, '//$1:***@');
}
