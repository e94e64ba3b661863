import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { OPS_OFF } from '../services.ts';
import { createRequestRecorder } from './request-log.ts';

/** A logger at `level` whose lines are kept, parsed. */
function capture(level: string) {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

const LINE = {
  reqId: 'req-1',
  method: 'GET',
  path: '/api/items',
  group: 'api',
  status: 200,
  ip: '127.0.0.1',
  start: performance.now() - 12.34,
} as const;

describe('createRequestRecorder', () => {
  it("writes the line pino's info() would write for the same fields, key for key", () => {
    const { logger, lines } = capture('info');
    createRequestRecorder(logger, OPS_OFF.metrics)(LINE);
    const { reqId, method, path, status, ip } = LINE;
    logger.info({ reqId, method, path, status, ip, ms: 12.3 }, 'request');

    expect(lines).toHaveLength(2);
    const [ours, pinos] = lines.map((line) => JSON.parse(line as string) as Record<string, unknown>);
    expect(lines[0]?.endsWith('}\n')).toBe(true);
    expect(Object.keys(ours ?? {})).toEqual(Object.keys(pinos ?? {}));
    expect({ ...ours, time: 0, ms: 0 }).toEqual({ ...pinos, time: 0, ms: 0 });
    expect(ours?.ms).toBeGreaterThanOrEqual(12.3);
    expect(Math.abs(Number(ours?.time) - Date.now())).toBeLessThan(5_000);
  });

  it('escapes what it is given and leaves out an unknown address', () => {
    const { logger, lines } = capture('info');
    createRequestRecorder(logger, OPS_OFF.metrics)({ ...LINE, path: '/api/"a"\\b\u2028é', ip: undefined });
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line.path).toBe('/api/"a"\\b\u2028é');
    expect('ip' in line).toBe(false);
    expect(line.msg).toBe('request');
  });

  it('writes nothing below info', () => {
    const { logger, lines } = capture('warn');
    createRequestRecorder(logger, OPS_OFF.metrics)(LINE);
    expect(lines).toEqual([]);
  });
});
