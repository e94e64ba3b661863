import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../app-env.ts';
import { spaRoutes } from './spa.ts';

/**
 * `base/dist` is the static root; `base/secret.txt` sits beside it, one `..` away, and must never
 * be served.
 */
let base: string;
let root: string;
let app: Hono<AppEnv>;
const SECRET_FILE = 'secret.txt';
const SECRET = `not-for-the-browser-${randomUUID()}`;

function spaApp(staticRoot: string): Hono<AppEnv> {
  return new Hono<AppEnv>().route(
    '/',
    spaRoutes({ root: staticRoot, publicOrigin: 'http://localhost:8000' }),
  );
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'spa-'));
  root = join(base, 'dist');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><div id="app"></div>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(root, 'favicon.svg'), '<svg/>');
  writeFileSync(join(base, SECRET_FILE), SECRET);
  app = spaApp(root);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/**
 * Every spelling of "one level above the root, then secret.txt", and the exact status the BFF's
 * server gives when these bytes are the request target (`curl --path-as-is`). @hono/node-server
 * resolves `.`/`..` segments (also `%2e`-encoded ones) against `/` while building the URL and
 * refuses a raw backslash with 400; what is left is refused by `serveStatic` (any `%`, dot
 * segments, backslashes) and answered 404 `not_found` because the name has an extension.
 */
const TRAVERSALS: readonly (readonly [target: string, status: 400 | 404])[] = [
  ['/../secret.txt', 404],
  ['/%2e%2e/secret.txt', 404],
  ['/%2E%2E/secret.txt', 404],
  ['/.%2e/secret.txt', 404],
  ['/..%2fsecret.txt', 404],
  ['/%2e%2e%2fsecret.txt', 404],
  ['/%2E%2E%2Fsecret.txt', 404],
  ['/..\\secret.txt', 400],
  ['/%2e%2e\\secret.txt', 400],
  ['/..%5csecret.txt', 404],
  ['/%2e%2e%5csecret.txt', 404],
  ['/%252e%252e/secret.txt', 404],
  ['/%252e%252e%252fsecret.txt', 404],
  ['/..%252fsecret.txt', 404],
  ['/assets/../../secret.txt', 404],
  ['/assets/%2e%2e/%2e%2e/secret.txt', 404],
  ['/assets/..%2f..%2fsecret.txt', 404],
  ['/assets/..\\..\\secret.txt', 400],
];

/** Sends `target` verbatim over HTTP/1.1: no URL parser normalises it on the way. */
function getRaw(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Serves `spa` as the BFF does (through @hono/node-server) on a free loopback port. */
async function serve(spa: Hono<AppEnv>): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(getRequestListener(spa.fetch));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

describe('SPA in production', () => {
  it('serves index.html with no-cache and the security headers for / and client routes', async () => {
    for (const path of ['/', '/profile', '/items?x=1', '/index.html']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<div id="app">');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    }
  });

  it('serves hashed assets as immutable and other files with a short cache', async () => {
    const js = await app.request('/assets/index-abc123.js');
    expect(js.status).toBe(200);
    expect(await js.text()).toBe('console.log(1)');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toContain('javascript');
    const icon = await app.request('/favicon.svg');
    expect(icon.status).toBe(200);
    expect(await icon.text()).toBe('<svg/>');
    expect(icon.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  it('answers 404 not_found for missing assets and for /auth/ paths no route answered', async () => {
    for (const path of ['/auth/diagnostics', '/assets/index-old.js']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(await res.json(), path).toMatchObject({ error: 'not_found' });
    }
  });

  it('never serves a file beside the root, whatever the spelling of ".." the server receives', async () => {
    // Controls: the secret is on disk and readable, and the same transport serves it from a root
    // that does contain it. A refusal below is then the root's boundary, not a broken fixture.
    expect(readFileSync(join(base, SECRET_FILE), 'utf8')).toBe(SECRET);
    const wide = await serve(spaApp(base));
    try {
      expect(await getRaw(wide.port, `/${SECRET_FILE}`)).toEqual({ status: 200, body: SECRET });
    } finally {
      await wide.close();
    }

    const server = await serve(app);
    try {
      for (const [target, status] of TRAVERSALS) {
        const res = await getRaw(server.port, target);
        expect(res.body, target).not.toContain(SECRET);
        expect(res.status, target).toBe(status);
        if (status === 404) expect(JSON.parse(res.body), target).toMatchObject({ error: 'not_found' });
      }
    } finally {
      await server.close();
    }
  });

  it('never serves a file beside the root through app.request (the URL parser resolves ".." first)', async () => {
    // `new Request()` resolves `..`, `%2e%2e` and `\` before the app sees the path, so here
    // several spellings arrive as `/secret.txt`; all of them must still stay inside the root.
    for (const [target] of TRAVERSALS) {
      const res = await app.request(target);
      expect(await res.text(), target).not.toContain(SECRET);
      expect(res.status, target).toBe(404);
    }
  });
});
