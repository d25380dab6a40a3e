import type { Logger } from '@slack/web-api';
import { LogLevel } from '@slack/web-api';

/**
 * A logger for WebClient / Bolt in tests that records instead of printing (the SDKs log every injected error).
 * Pass as `logger` to `new WebClient(...)`, `new App(...)` or `new ExpressReceiver(...)`.
 */
export function quietSlackLogger(): Logger & { lines: { level: string; msg: unknown[] }[] } {
  const lines: { level: string; msg: unknown[] }[] = [];
  let level: LogLevel = LogLevel.DEBUG;
  let name = 'fake-slack';
  const at =
    (l: string) =>
    (...msg: unknown[]) =>
      void lines.push({ level: l, msg: [name, ...msg] });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: (n: string) => {
      name = n;
    },
  };
}
