import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { type DevIdp, startDevIdp } from './index.ts';

/**
 * The IdP listens first and generates its signing key after (the issuer names the port it got),
 * so holding the key generation holds the IdP in its starting state for as long as the test needs:
 * no race with a start that happens to be fast. Once released, key generation is jose's own.
 */
const signingKey = vi.hoisted(() => {
  let markReached = () => {};
  let release = () => {};
  const reached = new Promise<void>((resolve) => {
    markReached = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { reached, released, markReached: () => markReached(), release: () => release() };
});

vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof import('jose')>();
  return {
    ...jose,
    generateKeyPair: async (...args: Parameters<typeof jose.generateKeyPair>) => {
      signingKey.markReached();
      await signingKey.released;
      return jose.generateKeyPair(...args);
    },
  };
});

/** How long any one request may take: every request ends within it, answered or not. */
const REQUEST_TIMEOUT_MS = 2_000;

type Answer =
  | { readonly status: number; readonly retryAfter: string | undefined; readonly body: string }
  | { readonly failed: string };

/**
 * One GET, always settled: the answer, `{ failed: 'timeout' }` when none came within
 * {@link REQUEST_TIMEOUT_MS}, or `{ failed: <code> }` for any other error (refused, reset, …).
 */
function get(url: string): Promise<Answer> {
  return new Promise((resolve) => {
    const failed = (error: NodeJS.ErrnoException) =>
      resolve({ failed: error.name === 'AbortError' ? 'timeout' : (error.code ?? error.message) });
    const req = http.get(url, { agent: false, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('error', failed);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }),
      );
    });
    req.on('error', failed);
  });
}

/** A port that was free a moment ago (another process may take it before we bind: see below). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });

/**
 * Starts the IdP on a known port and returns once it listens, held before its signing key.
 * A port taken between probe and bind is tried again with another; any other failure throws.
 */
async function startHeldBeforeKey(): Promise<{ port: number; starting: Promise<DevIdp> }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const starting = startDevIdp({ port, host: '127.0.0.1' });
    const first = await Promise.race([
      signingKey.reached.then(() => 'listening' as const),
      starting.then(
        () => new Error('the IdP started without generating its signing key'),
        (error: unknown) => error,
      ),
    ]);
    if (first === 'listening') return { port, starting };
    if ((first as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 3) continue;
    throw first;
  }
}

describe('dev IdP start-up', () => {
  it('answers requests that arrive while it is still starting (503, Retry-After), then serves', async () => {
    const { port, starting } = await startHeldBeforeKey();
    const discovery = `http://127.0.0.1:${port}/oauth2/default/.well-known/openid-configuration`;
    let idp: DevIdp | undefined;
    try {
      // Several at once, all while starting: none is left without an answer.
      const early = await Promise.all([get(discovery), get(discovery), get(discovery)]);
      for (const answer of early) {
        expect(answer).toMatchObject({ status: 503, retryAfter: '1' });
        expect(JSON.parse((answer as { body: string }).body)).toMatchObject({
          error: 'temporarily_unavailable',
        });
      }
      signingKey.release();
      idp = await starting;
      expect(await get(discovery)).toMatchObject({ status: 200 });
    } finally {
      // Whatever failed above, the IdP finishes starting and is closed: nothing is left listening.
      signingKey.release();
      await (idp ?? (await starting)).close();
    }
  });

  it('rejects with EADDRINUSE when its port is taken, instead of waiting', async () => {
    const taken = await new Promise<Server>((resolve, reject) => {
      const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
      server.on('error', reject);
    });
    try {
      const { port } = taken.address() as { port: number };
      await expect(startDevIdp({ port, host: '127.0.0.1' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
