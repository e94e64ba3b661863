import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../app-env.ts';
import { spaRoutes } from './spa.ts';

let root: string;
let app: Hono<AppEnv>;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'spa-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><div id="app"></div>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(root, 'favicon.svg'), '<svg/>');
  app = new Hono<AppEnv>().route('/', spaRoutes({ root, publicOrigin: 'http://localhost:8000' }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

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
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toContain('javascript');
    const icon = await app.request('/favicon.svg');
    expect(icon.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  it('answers 404 for missing assets and refuses to leave the root', async () => {
    expect((await app.request('/auth/diagnostics')).status).toBe(404);
    const missing = await app.request('/assets/index-old.js');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found' });
    for (const path of ['/../package.json', '/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2fetc%2fpasswd']) {
      const res = await app.request(path);
      expect(await res.text(), path).not.toContain('root:');
      expect([200, 400, 404]).toContain(res.status);
    }
  });
});
