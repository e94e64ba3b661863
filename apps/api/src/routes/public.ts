/**
 * `/public/*`: what anyone may read, signed in or not. Mounted before {@link bearerAuth}, so no
 * token is asked for, and one sent anyway is never looked at (the BFF's `token: "none"` route
 * sends none). Nothing here depends on who asks.
 */
import { Hono } from 'hono';
import type { ApiEnv } from '../bearer-auth.ts';

/** One announcement of `GET /public/notices`. */
export interface PublicNotice {
  /** Stable, for list keys. */
  id: string;
  title: string;
  /** Plain text (never HTML). */
  text: string;
  /** ISO 8601 timestamp. */
  publishedAt: string;
}

/** What `GET /public/notices` answers. */
export interface PublicNoticesBody {
  /** The service's state, in a word. */
  status: 'operational' | 'degraded' | 'maintenance';
  /** Newest first. */
  notices: readonly PublicNotice[];
}

/** The sample's announcements; `createApiApp({ notices })` replaces them. */
export const DEFAULT_PUBLIC_NOTICES: PublicNoticesBody = Object.freeze({
  status: 'operational',
  notices: Object.freeze([
    Object.freeze({
      id: 'live-updates',
      title: 'Live updates',
      text: 'Your items list now updates by itself when you add an item in another tab.',
      publishedAt: '2025-06-02T09:00:00.000Z',
    }),
    Object.freeze({
      id: 'welcome',
      title: 'Welcome',
      text: 'This notice comes from the sample API without any sign-in: it is public.',
      publishedAt: '2025-06-01T09:00:00.000Z',
    }),
  ]),
});

/** `GET /public/notices`; mount before {@link bearerAuth}. */
export function publicRoutes(notices: PublicNoticesBody = DEFAULT_PUBLIC_NOTICES): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.get('/notices', (c) => c.json(notices));
  return routes;
}
