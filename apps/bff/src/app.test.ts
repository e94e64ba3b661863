import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBffConfig } from '@okta-bff/oidc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.ts';
import { createLogger } from './logger.ts';
import { NOT_READY_IDP } from './testing/idp-stub.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bff-app-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>app</title>');
  await writeFile(join(root, 'assets', 'main-abc123.js'), 'console.log(1)');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the whole app: caching rules per route group', () => {
  it('caches hashed assets for a year and revalidates pages, while /auth answers are never stored', async () => {
    const config = loadBffConfig({
      OKTA_ISSUER: 'http://127.0.0.1:9/oauth2/default',
      CLIENT_ID: 'c',
      CLIENT_SECRET: 's',
      SESSION_SECRET: 'x'.repeat(32),
    });
    const app = createApp({ config, idp: NOT_READY_IDP, logger: createLogger('silent'), spaRoot: root });
    const asset = await app.request('/assets/main-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const page = await app.request('/items');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const user = await app.request('/auth/user');
    expect(user.status).toBe(401);
    expect(user.headers.get('cache-control')).toBe('no-store');
  });
});
