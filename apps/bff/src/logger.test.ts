import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineBatcher } from './logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'bff-log-'));
let opened: number[] = [];
afterEach(() => {
  for (const fd of opened) closeSync(fd);
  opened = [];
  vi.restoreAllMocks();
});

/** A fresh file to write to: its descriptor and a reader of what reached it. */
function file(name: string) {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  opened.push(fd);
  return { fd, written: () => readFileSync(path, 'utf8') };
}

describe('LineBatcher', () => {
  it('keeps lines until a batch is full, then writes them in order in one write', () => {
    const out = file('batch');
    const lines = new LineBatcher(out.fd, 30);
    lines.write('{"n":1}\n');
    lines.write('{"n":2}\n');
    lines.write('{"n":3}\n');
    expect(out.written()).toBe('');
    lines.write('{"n":4}\n'); // 32 characters: the batch is full
    expect(out.written()).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
    lines.write('{"n":5}\n');
    expect(out.written()).toHaveLength(32);
  });

  it('writes what it holds on flush(), and calls back as pino.flush(cb) expects', () => {
    const out = file('flush');
    const lines = new LineBatcher(out.fd, 4_096);
    lines.write('{"msg":"é ✓"}\n');
    const done = vi.fn();
    lines.flush(done);
    expect(out.written()).toBe('{"msg":"é ✓"}\n');
    expect(done).toHaveBeenCalledOnce();
    lines.flush();
    expect(out.written()).toBe('{"msg":"é ✓"}\n');
  });

  it('waits for a slow reader of a full non-blocking pipe, and loses nothing', async () => {
    const path = join(dir, 'pipe');
    const reader = spawn('sh', ['-c', `sleep 0.3; cat > '${path}'`], { stdio: ['pipe', 'ignore', 'ignore'] });
    const fd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const lines = new LineBatcher(fd, 1_000_000);
    const line = `${JSON.stringify({ msg: 'x'.repeat(200) })}\n`;
    for (let i = 0; i < 2_000; i++) lines.write(line); // ~420 KB, far over a pipe's 64 KB
    lines.flush();
    reader.stdin?.end();
    await new Promise((resolve) => reader.once('exit', resolve));
    expect(readFileSync(path, 'utf8')).toBe(line.repeat(2_000));
  });

  it('drops a batch it cannot write, says so once on standard error, and never throws', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const gone = openSync(join(dir, 'gone'), 'w');
    closeSync(gone);
    const lines = new LineBatcher(gone, 10);
    expect(() => {
      lines.write('{"n":1} and more\n');
      lines.write('{"n":2} and more\n');
    }).not.toThrow();
    expect(stderr).toHaveBeenCalledOnce();
    expect(String(stderr.mock.calls[0]?.[0])).toMatch(/could not be written.*EBADF/);
  });
});
