import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchLinesPerTurn } from '../../../src/adapters/logging/logger.ts';

const LOGGER_MODULE = fileURLToPath(new URL('../../../src/adapters/logging/logger.ts', import.meta.url));

/**
 * Resolves once the event-loop turn that called it has ended (after the batch's own setImmediate, which came first).
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function recordingSink() {
  const writes: string[] = [];
  return { writes, write: (text: string) => void writes.push(text) };
}

describe('batchLinesPerTurn', () => {
  it('writes the lines of one event-loop turn in one write, in order, once the turn has ended', async () => {
    const sink = recordingSink();
    const lines = batchLinesPerTurn(sink);
    lines.write('{"msg":"one"}\n');
    lines.write('{"msg":"two"}\n');
    lines.write('{"msg":"three"}\n');
    expect(sink.writes).toEqual([]);
    await nextTurn();
    expect(sink.writes).toEqual(['{"msg":"one"}\n{"msg":"two"}\n{"msg":"three"}\n']);
  });

  it('counts promise continuations as part of the turn: their lines join the same write', async () => {
    const sink = recordingSink();
    const lines = batchLinesPerTurn(sink);
    lines.write('sync\n');
    await Promise.resolve();
    lines.write('microtask\n');
    await Promise.resolve();
    expect(sink.writes).toEqual([]);
    await nextTurn();
    expect(sink.writes).toEqual(['sync\nmicrotask\n']);
  });

  it('writes the lines of a later turn in a separate write', async () => {
    const sink = recordingSink();
    const lines = batchLinesPerTurn(sink);
    lines.write('first turn a\n');
    lines.write('first turn b\n');
    await nextTurn();
    lines.write('second turn\n');
    expect(sink.writes).toEqual(['first turn a\nfirst turn b\n']);
    await nextTurn();
    expect(sink.writes).toEqual(['first turn a\nfirst turn b\n', 'second turn\n']);
    await nextTurn();
    expect(sink.writes).toHaveLength(2);
  });

  it('writes nothing at all in a turn without lines', async () => {
    const sink = recordingSink();
    batchLinesPerTurn(sink);
    await nextTurn();
    expect(sink.writes).toEqual([]);
  });

  it(
    'flush() writes the pending lines at once, and the ' + 'flush scheduled for the turn writes them no second time',
    async () => {
      const sink = recordingSink();
      const lines = batchLinesPerTurn(sink);
      lines.write('a\n');
      lines.write('b\n');
      lines.flush();
      expect(sink.writes).toEqual(['a\nb\n']);
      lines.flush();
      expect(sink.writes).toEqual(['a\nb\n']);
      await nextTurn();
      await nextTurn();
      expect(sink.writes).toEqual(['a\nb\n']);
    },
  );

  it('after flush(), a line of the same turn is still written, exactly once', async () => {
    const sink = recordingSink();
    const lines = batchLinesPerTurn(sink);
    lines.write('before flush\n');
    lines.flush();
    lines.write('after flush\n');
    expect(sink.writes).toEqual(['before flush\n']);
    await nextTurn();
    await nextTurn();
    expect(sink.writes).toEqual(['before flush\n', 'after flush\n']);
  });
});

describe('createLogger on standard output: no line is lost when the process ends right after logging', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenlight-log-batching-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Runs `body` after `createLogger` is imported from src, in a child process; resolves to its exit code and output.
   */
  const runScript = (name: string, body: string) => {
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, `import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};\n${body}\n`);
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [file], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  };

  const messages = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => (JSON.parse(line) as { msg: string }).msg);

  it('keeps the last line when process.exit() follows it in the same turn', async () => {
    const run = await runScript(
      'exit',
      "const logger = createLogger({ level: 'info' });\nlogger.info('first " +
        "words');\nlogger.info('last words');\nprocess.exit(3);",
    );
    expect(run.code).toBe(3);
    expect(messages(run.stdout)).toEqual(['first words', 'last words']);
  });

  it('keeps the last line when an uncaught error ends the process in the same turn', async () => {
    const run = await runScript(
      'crash',
      "createLogger({ level: 'info' }).info('last words');\nthrow new Error('crash right after logging');",
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('crash right after logging');
    expect(messages(run.stdout)).toEqual(['last words']);
  });
});
