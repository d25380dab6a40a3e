/**
 * Await a condition instead of sleeping: polls `probe` until it returns a value other than
 * undefined/false/null, or fails with the description after `timeoutMs`.
 * With `progress` (e.g. how many of N cards are there), `timeoutMs` is how long the work may go without making
 * any: each poll that finds a new progress value starts the time again. A busy machine does a batch slowly, but
 * steadily; what this catches is work that stopped.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string; progress?: () => unknown } = {},
): Promise<Exclude<T, undefined | null | false>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 20;
  let deadline = Date.now() + timeoutMs;
  let lastProgress = opts.progress?.();
  let lastError: unknown;
  for (;;) {
    if (opts.progress) {
      const progress = opts.progress();
      if (progress !== lastProgress) {
        lastProgress = progress;
        deadline = Date.now() + timeoutMs;
      }
    }
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false)
        return value as Exclude<T, undefined | null | false>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      const idle = opts.progress ? ` without progress (last: ${String(lastProgress)})` : '';
      throw new Error(`timed out after ${timeoutMs} ms${idle} waiting for ${opts.what ?? 'condition'}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
