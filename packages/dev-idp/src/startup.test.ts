import http from 'node:http';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startDevIdp } from './index.ts';

/** A port that was free a moment ago. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** One GET, answered or not within `ms`: its status and headers, 'refused', or 'no answer'. */
function get(url: string, ms: number) {
  return new Promise<{ status: number; retryAfter?: string; body: string } | 'refused' | 'no answer'>(
    (resolve) => {
      const req = http.get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }),
        );
      });
      req.setTimeout(ms, () => {
        req.destroy();
        resolve('no answer');
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') resolve('refused');
      });
    },
  );
}

describe('dev IdP start-up', () => {
  it('answers a request that arrives while it is still starting (503, Retry-After), never leaves it hanging', async () => {
    const port = await freePort();
    const discovery = `http://127.0.0.1:${port}/oauth2/default/.well-known/openid-configuration`;
    const answers: Awaited<ReturnType<typeof get>>[] = [];
    let started = false;
    const starting = startDevIdp({ port, host: '127.0.0.1' }).then((idp) => {
      started = true;
      return idp;
    });
    // Knock as soon as the port is bound: its signing key is still being generated then.
    while (!started) {
      const answer = await get(discovery, 3_000);
      if (answer !== 'refused') answers.push(answer);
      if (answer === 'refused') await new Promise((r) => setTimeout(r, 2));
    }
    const idp = await starting;
    try {
      expect(answers).not.toContain('no answer');
      expect(answers[0]).toMatchObject({ status: 503, retryAfter: '1' });
      expect(JSON.parse((answers[0] as { body: string }).body)).toMatchObject({
        error: 'temporarily_unavailable',
      });
      expect(await get(discovery, 3_000)).toMatchObject({ status: 200 });
    } finally {
      await idp.close();
    }
  });
});
