import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { loadBffConfig } from '@okta-bff/oidc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.ts';
import { bffPathsOf, createBffServer } from './http-server.ts';
import { createLogger } from './logger.ts';
import { NOT_READY_IDP } from './testing/idp-stub.ts';

let server: ReturnType<typeof createBffServer>;
let port: number;

beforeAll(async () => {
  const config = loadBffConfig({
    OKTA_ISSUER: 'http://127.0.0.1:9/oauth2/default',
    CLIENT_ID: 'c',
    CLIENT_SECRET: 's',
    SESSION_SECRET: 'x'.repeat(32),
  });
  server = createBffServer({ config, idp: NOT_READY_IDP, logger: createLogger('silent') });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends raw bytes and returns the whole answer (the server closes these connections). */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let out = '';
    socket.on('data', (d) => {
      out += d;
    });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('connections the BFF refuses', () => {
  it('answers CONNECT with 405 JSON', async () => {
    const answer = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 405 /);
    expect(answer).toContain('"error":"method_not_allowed"');
  });

  const upgrade = (path: string, extra = '') =>
    raw(
      `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: vite-hmr\r\nCookie: bff_session=x\r\n${extra}\r\n`,
    );

  it('refuses websocket upgrades outside /api (only Vite HMR in development is relayed)', async () => {
    for (const path of ['/', '/auth/user', '/apix']) {
      const answer = await upgrade(path);
      expect(answer, path).toMatch(/^HTTP\/1.1 400 /);
      expect(answer).toContain('"error":"bad_request"');
    }
  });

  it('answers /api upgrades by the WebSocket rules: Origin first (403), then the route (404 no_route)', async () => {
    const crossSite = await upgrade('/api/socket');
    expect(crossSite).toMatch(/^HTTP\/1.1 403 /);
    expect(crossSite).toContain('"error":"csrf_required"');
    // The default route (`/api` → API_UPSTREAM_URL) does not allow WebSockets.
    const unrouted = await upgrade('/api/socket', 'Origin: http://localhost:8000\r\n');
    expect(unrouted).toMatch(/^HTTP\/1.1 404 /);
    expect(unrouted).toContain('"error":"no_route"');
  });
});

describe('paths the BFF answers itself in development (the rest goes to Vite)', () => {
  it('come from the app’s own route table: every registered path, and everything under /auth/', () => {
    const config = loadBffConfig(
      { REDIRECT_URL: 'http://localhost:8000/custom/callback/path' },
      'development',
    );
    const owns = bffPathsOf(createApp({ config, idp: NOT_READY_IDP, logger: createLogger('silent') }));
    for (const path of [
      '/healthz',
      '/readyz',
      '/custom/callback/path?code=x',
      '/auth/login',
      '/auth/user',
      '/auth/diagnostics',
      '/auth/unknown',
    ]) {
      expect(owns(path), path).toBe(true);
    }
    for (const path of [
      '/',
      '/items',
      '/profile',
      '/src/main.tsx',
      '/@vite/client',
      '/authorization-code/callback',
    ]) {
      expect(owns(path), path).toBe(false);
    }
  });
});
