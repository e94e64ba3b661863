/**
 * The BFF's `/api` routes in Debian's Chromium against the production build, with the route
 * table of `pnpm dev` (`DEV_API_ROUTES`: items, live, public, stats) pointed at the sample API:
 *
 * - `items` (user token): the items page lists what the user has;
 * - `live` (WebSocket, user token): an item added in a second tab appears in the first one
 *   without a reload and without another `GET /api/items`, carried by the socket;
 * - `public` (no token, no session): the home page shows the public notices signed out;
 * - an unrouted path: 404 `no_route`;
 * - `stats` (the BFF's client-credentials token): the items page shows the site-wide counts.
 *
 * @see docs/http-contract.md
 */
import { DEV_USERS } from '@okta-bff/dev-idp';
import type { Request, WebSocket } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { fetchFromPage, liveState, signIn, waitForBffResponse } from './support/actions.ts';
import { useBrowserBed } from './support/bed.ts';
import { openPage } from './support/browser.ts';

const alice = DEV_USERS[0]!;

describe('API routes (real browser, production build)', () => {
  const bed = useBrowserBed();

  it('shows the public notices to a signed-out visitor (public route, no session)', async () => {
    const { bffOrigin } = bed.stack;
    const { context, page } = await openPage(bed.browser);
    try {
      const notices = waitForBffResponse(page, bffOrigin, 'GET', '/api/public/notices');
      await page.goto(`${bffOrigin}/`);
      await page.getByTestId('sign-in').waitFor();
      const answer = await notices;
      expect(answer.status()).toBe(200);
      expect(answer.request().headers()['x-csrf']).toBe('1');
      expect(await context.cookies(bffOrigin)).toEqual([]);
      const list = page.getByTestId('public-notices');
      await list.waitFor();
      expect(await list.locator('li').count()).toBeGreaterThan(0);
      await page.getByTestId('service-status').filter({ hasText: 'operational' }).waitFor();
      expect(await page.getByTestId('public-notices-unavailable').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('signs in, lists the items, shows an item added in another tab live, and 404s an unrouted path', async () => {
    const { bffOrigin, idp } = bed.stack;
    const { context, page } = await openPage(bed.browser);
    try {
      await page.goto(`${bffOrigin}/`);
      await signIn(page, idp.origin, bffOrigin, alice);

      // An unrouted path under /api: the BFF answers itself, nothing is forwarded.
      expect(await fetchFromPage(page, '/api/nope', {})).toMatchObject({
        status: 404,
        body: { error: 'no_route' },
      });

      // An item that exists before the page is opened: the items route lists it.
      const existing = `Before the page ${Date.now()}`;
      const created = await fetchFromPage(page, '/api/items', { method: 'POST', json: { name: existing } });
      expect(created).toMatchObject({ status: 201, body: { name: existing } });

      const socketOpened = page.waitForEvent('websocket');
      const firstList = waitForBffResponse(page, bffOrigin, 'GET', '/api/items');
      await page.getByRole('link', { name: 'Items', exact: true }).click();
      expect((await firstList).status()).toBe(200);
      const list = page.getByTestId('items-list');
      await list.getByText(existing, { exact: true }).waitFor();

      // The live route: a WebSocket on the page's own origin, open and serving.
      const socket: WebSocket = await socketOpened;
      expect(socket.url()).toBe(`${bffOrigin.replace('http:', 'ws:')}/api/live`);
      const frames: string[] = [];
      socket.on('framereceived', ({ payload }) => frames.push(String(payload)));
      await liveState(page, 'live').waitFor();

      // From here on, page 1 must not ask for the list again, nor reload.
      const itemListRequests: Request[] = [];
      page.on('request', (request) => {
        const url = new URL(request.url());
        if (url.pathname === '/api/items' && request.method() === 'GET') itemListRequests.push(request);
      });
      let navigations = 0;
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) navigations += 1;
      });
      await page.evaluate(() => {
        (window as unknown as { notReloaded: boolean }).notReloaded = true;
      });

      // A second tab of the same browser (same session) adds an item through its own form.
      const other = await context.newPage();
      await other.goto(`${bffOrigin}/items`);
      await other.getByTestId('items-list').getByText(existing, { exact: true }).waitFor();
      const added = `From the other tab ${Date.now()}`;
      await other.getByTestId('item-name-input').fill(added);
      const posted = waitForBffResponse(other, bffOrigin, 'POST', '/api/items');
      await other.getByTestId('add-item').click();
      expect((await posted).status()).toBe(201);

      // Page 1 shows it, carried by its socket.
      await list.getByText(added, { exact: true }).waitFor();
      expect(frames.some((frame) => frame.includes(added))).toBe(true);
      const lastFrame = JSON.parse(frames.at(-1) ?? '{}') as { type?: string; items?: { name: string }[] };
      expect(lastFrame.type).toBe('items');
      expect(lastFrame.items?.map((item) => item.name)).toEqual([existing, added]);
      expect(itemListRequests).toEqual([]);
      expect(navigations).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
        true,
      );
      expect(await page.getByTestId('live-paused').count()).toBe(0);
      expect(socket.isClosed()).toBe(false);

      // Signed in, the public notices are on the home page too.
      await page.getByRole('link', { name: 'Home', exact: true }).click();
      await page.getByTestId('public-notices').waitFor();
      await other.close();
    } finally {
      await context.close();
    }
  });

  it('shows the site-wide stats, fetched with the BFF client token (stats route)', async () => {
    const { bffOrigin, idp } = bed.stack;
    const { context, page } = await openPage(bed.browser);
    try {
      await page.goto(`${bffOrigin}/`);
      await signIn(page, idp.origin, bffOrigin, alice);
      const created = await fetchFromPage(page, '/api/items', { method: 'POST', json: { name: 'counted' } });
      expect(created.status).toBe(201);
      // Only Alice has items in this stack; the counts say how many, never whose.
      const stats = await fetchFromPage(page, '/api/stats');
      expect(stats).toMatchObject({ status: 200, body: { usersWithItems: 1 } });
      expect(Object.keys(stats.body as object).sort()).toEqual(['totalItems', 'usersWithItems']);
      await page.getByRole('link', { name: 'Items', exact: true }).click();
      await page.getByTestId('site-stats').filter({ hasText: 'kept by 1 user.' }).waitFor();
    } finally {
      await context.close();
    }
  });
});
