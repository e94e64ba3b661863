import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { errorAsResponse } from '../http/error-response.ts';
import { pageSecurityHeaders } from './security-headers.ts';

/** Hashed file names never change content: cache them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface SpaOptions {
  /** The SPA's production build (`apps/web/dist`). */
  readonly root: string;
  readonly publicOrigin: string;
}

/**
 * Production: the built SPA. Files under `/assets/` (hashed) are immutable; `index.html` is
 * `no-cache` and answers every other GET that names no file (client-side routes), with the
 * security headers. Only GET and HEAD reach this.
 */
export function spaRoutes({ root, publicOrigin }: SpaOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const headers = pageSecurityHeaders('production', publicOrigin);
  const indexPath = join(root, 'index.html');
  const built = existsSync(indexPath);
  let indexHtml: Promise<string> | undefined;

  app.use('*', async function securityAndCacheHeaders(c, next) {
    await next();
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    if (c.res.status === 200 && !c.res.headers.has('cache-control')) {
      c.header('Cache-Control', c.req.path.startsWith('/assets/') ? IMMUTABLE : 'public, max-age=3600');
    }
  });
  app.use(
    '*',
    serveStatic({
      root,
      // index.html is served below, with its own caching rule.
      rewriteRequestPath: (path) => (path === '/' || path === '/index.html' ? '/__no_such_file__' : path),
    }),
  );
  app.get('*', async (c) => {
    const last = c.req.path.split('/').pop() ?? '';
    // A missing file with an extension (a stale asset URL) is a 404, not the app shell; so is
    // anything under /auth/ that no auth route answered.
    if (
      c.req.path.startsWith('/auth/') ||
      c.req.path.startsWith('/assets/') ||
      (last.includes('.') && last !== 'index.html')
    ) {
      return errorAsResponse('not_found', 'There is nothing at this address.');
    }
    if (!built) {
      return errorAsResponse('not_found', 'The web app is not built. Run `pnpm build`, then `pnpm start`.');
    }
    indexHtml ??= readFile(indexPath, 'utf8');
    c.header('Cache-Control', 'no-cache');
    return c.html(await indexHtml);
  });
  return app;
}
