/**
 * Step-up sign-in (RFC 9470) in Debian's Chromium against the production build. Deleting an item
 * is the sample API's step-up route (`DELETE /items/:id` wants `acr` `urn:okta:loa:2fa:any` and an
 * `auth_time` at most 5 minutes old, on by default); a password-only session gets the BFF's
 * `401 step_up_required` with a `login` path, and the items page says so in its own words:
 *
 * - "Cancel" just stays: no navigation, the item and the session as they were;
 * - "Continue" goes to the BFF's step-up login, the embedded IdP asks for the password (unless its
 *   own session is still there) and then for the one-time code it prints on the page, and the
 *   callback brings the browser back to `/items`, where the page offers the pending delete; once
 *   confirmed, the item is gone, from this tab, from another tab's live list and from the API,
 *   and `GET /auth/user` reports the two-factor `acr`.
 *
 * @see docs/http-contract.md
 * @see apps/web/src/pages/items.tsx, apps/web/src/step-up.ts (the texts and buttons used here)
 */
import { ACR_PASSWORD, ACR_TWO_FACTOR, DEV_USERS } from '@okta-bff/dev-idp';
import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  exactText,
  fetchFromPage,
  idpLoginForm,
  liveState,
  signIn,
  waitForBffResponse,
} from './support/actions.ts';
import { useBrowserBed } from './support/bed.ts';
import { openPage } from './support/browser.ts';

const alice = DEV_USERS[0]!;

/** The sample API's default step-up `max_age`, in seconds. */
const STEP_UP_MAX_AGE_S = 300;

/** What the items page says when a delete needs a step-up (`STEP_UP_MESSAGES.deleteItem`). */
const STEP_UP_MESSAGE = 'Deleting an item needs a fresh sign-in with a second factor.';

interface ItemBody {
  id: string;
  name: string;
}

interface AuthUserBody {
  authenticated: boolean;
  user?: { sub?: string };
  session?: { acr: string | null; authTime: number | null };
}

/** The names `GET /api/items` lists for the page's session (the API answers `{ items: [...] }`). */
async function listedNames(page: Page): Promise<string[]> {
  const answer = await fetchFromPage(page, '/api/items');
  expect(answer.status).toBe(200);
  return (answer.body as { items: ItemBody[] }).items.map((item) => item.name);
}

/** `GET /auth/user` from the page. */
async function authUser(page: Page): Promise<{ status: number; body: AuthUserBody }> {
  const answer = await fetchFromPage(page, '/auth/user');
  return { status: answer.status, body: answer.body as AuthUserBody };
}

/** The item's row in the items list (its name exactly). */
function itemRow(page: Page, name: string) {
  return page
    .getByTestId('items-list')
    .locator('li')
    .filter({ has: page.locator('.item-name', { hasText: exactText(name) }) });
}

/** Adds an item through the page's own form and resolves with what the API created. */
async function addItemThroughForm(page: Page, bffOrigin: string, name: string): Promise<ItemBody> {
  await page.getByTestId('item-name-input').fill(name);
  const [posted] = await Promise.all([
    waitForBffResponse(page, bffOrigin, 'POST', '/api/items'),
    page.getByTestId('add-item').click(),
  ]);
  expect(posted.status()).toBe(201);
  const item = (await posted.json()) as ItemBody;
  expect(item.name).toBe(name);
  await itemRow(page, name).waitFor();
  return item;
}

/**
 * Clicks the item's Delete and waits for the BFF's refusal: 401 `step_up_required` with a login
 * path that comes back to `/items`. Resolves once the page shows the step-up notice.
 */
async function deleteNeedsStepUp(page: Page, bffOrigin: string, item: ItemBody): Promise<string> {
  const [refused] = await Promise.all([
    waitForBffResponse(page, bffOrigin, 'DELETE', `/api/items/${item.id}`),
    itemRow(page, item.name).getByTestId('delete-item').click(),
  ]);
  expect(refused.status()).toBe(401);
  const body = (await refused.json()) as { error?: string; login?: string };
  expect(body.error).toBe('step_up_required');
  const login = new URL(body.login ?? '', bffOrigin);
  expect(login.origin).toBe(bffOrigin);
  expect(login.pathname).toBe('/auth/login');
  expect(login.searchParams.get('stepUp')).toMatch(/^[\w-]+$/);
  expect(login.searchParams.get('returnTo')).toBe('/items');

  const notice = page.getByTestId('step-up-required');
  await notice.filter({ hasText: STEP_UP_MESSAGE }).waitFor();
  await notice.getByRole('button', { name: 'Continue', exact: true }).waitFor();
  await notice.getByRole('button', { name: 'Cancel', exact: true }).waitFor();
  return body.login ?? '';
}

describe('step-up sign-in (real browser, production build)', () => {
  // The sample API's step-up policy and the dev IdP's one-time code are both on by default.
  const bed = useBrowserBed();

  it('Cancel on the step-up notice stays on the page: the item and the session are kept', async () => {
    const { bffOrigin, idp } = bed.stack;
    const { context, page } = await openPage(bed.browser);
    try {
      await page.goto(`${bffOrigin}/`);
      await signIn(page, idp.origin, bffOrigin, alice);
      await page.getByRole('link', { name: 'Items', exact: true }).click();
      await page.waitForURL(`${bffOrigin}/items`);
      await page.getByTestId('items-list').waitFor({ state: 'attached' });
      const item = await addItemThroughForm(page, bffOrigin, `Kept after cancel ${Date.now()}`);

      const before = await authUser(page);
      expect(before.status).toBe(200);
      expect(before.body.session?.acr).toBe(ACR_PASSWORD);

      await deleteNeedsStepUp(page, bffOrigin, item);

      // From here on, nothing may leave the page.
      let navigations = 0;
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) navigations += 1;
      });
      const idpRequests: Request[] = [];
      page.on('request', (request) => {
        if (new URL(request.url()).origin === idp.origin) idpRequests.push(request);
      });

      await page.getByTestId('step-up-cancel').click();
      await page.getByTestId('step-up-required').waitFor({ state: 'detached' });

      expect(page.url()).toBe(`${bffOrigin}/items`);
      await itemRow(page, item.name).getByTestId('delete-item').waitFor();
      expect(await page.getByTestId('pending-delete').count()).toBe(0);
      expect(await page.getByTestId('sign-out').count()).toBe(1);
      expect(await listedNames(page)).toContain(item.name);
      const after = await authUser(page);
      expect(after.status).toBe(200);
      expect(after.body.session).toMatchObject({
        acr: ACR_PASSWORD,
        authTime: before.body.session?.authTime,
      });
      expect(after.body.user?.sub).toBe(before.body.user?.sub);
      // Nothing is remembered for a retry.
      expect(await page.evaluate(() => sessionStorage.getItem('okta-bff.pending-delete'))).toBeNull();
      expect(navigations).toBe(0);
      expect(idpRequests.map((request) => request.url())).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('Continue signs in again with the one-time code, comes back to /items and deletes the item on confirmation', async () => {
    const { bffOrigin, idp } = bed.stack;
    const { context, page } = await openPage(bed.browser);
    try {
      // A password-only sign-in.
      await page.goto(`${bffOrigin}/`);
      await signIn(page, idp.origin, bffOrigin, alice);
      const before = await authUser(page);
      expect(before.status).toBe(200);
      expect(before.body.session?.acr).toBe(ACR_PASSWORD);

      await page.getByRole('link', { name: 'Items', exact: true }).click();
      await page.waitForURL(`${bffOrigin}/items`);
      await page.getByTestId('items-list').waitFor({ state: 'attached' });
      const keeper = await addItemThroughForm(page, bffOrigin, `Stays ${Date.now()}`);
      const doomed = await addItemThroughForm(page, bffOrigin, `To be deleted ${Date.now()}`);

      await deleteNeedsStepUp(page, bffOrigin, doomed);
      // Nothing was deleted by the refused call.
      expect(await listedNames(page)).toEqual(expect.arrayContaining([keeper.name, doomed.name]));

      // Continue: the BFF's step-up login sends the browser on to the IdP, asking for two factors.
      const authorize = page.waitForRequest((request) => {
        const url = new URL(request.url());
        return url.origin === idp.origin && url.searchParams.has('acr_values');
      });
      await Promise.all([
        page.waitForURL((url) => url.origin === idp.origin),
        page.getByTestId('step-up-continue').click(),
      ]);
      const authorizeUrl = new URL((await authorize).url());
      expect(authorizeUrl.searchParams.get('acr_values')).toBe(ACR_TWO_FACTOR);
      expect(authorizeUrl.searchParams.get('max_age')).toBe(String(STEP_UP_MAX_AGE_S));

      // The IdP asks for the password unless its own session (from the sign-in above) is still
      // there; either way, the one-time-code page follows.
      const otpInput = page.getByLabel('One-time code', { exact: true });
      const loginForm = idpLoginForm(page);
      await otpInput.or(loginForm.username).first().waitFor();
      if (await loginForm.username.isVisible()) {
        await loginForm.username.fill(alice.login);
        await loginForm.password.fill(alice.password);
        await loginForm.submit.click();
        await otpInput.waitFor();
      }
      expect(new URL(page.url()).origin).toBe(idp.origin);

      // The code as the page shows it (the dev IdP prints the one it accepts).
      const code = ((await page.locator('#dev-otp-code').textContent()) ?? '').trim();
      expect(code).toMatch(/^\d{6}$/);
      await otpInput.fill(code);
      // Back on /items, or (a refused code) the code page again, with its error: fail fast then.
      await Promise.all([
        page.waitForURL(
          (url) =>
            (url.origin === bffOrigin && url.pathname === '/items') ||
            (url.origin === idp.origin && url.pathname.endsWith('/otp')),
        ),
        page.getByRole('button', { name: 'Verify', exact: true }).click(),
      ]);
      if (new URL(page.url()).origin !== bffOrigin) {
        const refusal = await page
          .locator('#otp-error')
          .textContent({ timeout: 1_000 })
          .catch(() => null);
        throw new Error(`the IdP refused the one-time code: ${refusal ?? page.url()}`);
      }
      expect(page.url()).toBe(`${bffOrigin}/items`);

      // Back on /items, with a two-factor session; the page offers the delete that waited.
      await page.getByTestId('sign-out').waitFor();
      const pending = page.getByTestId('pending-delete');
      await pending.filter({ hasText: `You signed in again. Delete “${doomed.name}” now?` }).waitFor();
      const confirm = pending.getByTestId('pending-delete-confirm');
      await confirm.filter({ hasText: exactText(`Delete “${doomed.name}”`) }).waitFor();
      await pending.getByRole('button', { name: 'Keep it', exact: true }).waitFor();
      // Offered, never done without the click.
      expect(await listedNames(page)).toEqual(expect.arrayContaining([keeper.name, doomed.name]));

      const after = await authUser(page);
      expect(after.status).toBe(200);
      expect(after.body.user?.sub).toBe(before.body.user?.sub);
      expect(after.body.session?.acr).toBe(ACR_TWO_FACTOR);
      const authTime = after.body.session?.authTime ?? 0;
      expect(authTime).toBeGreaterThanOrEqual(before.body.session?.authTime ?? Number.POSITIVE_INFINITY);
      expect(Math.abs(Date.now() / 1000 - authTime)).toBeLessThan(STEP_UP_MAX_AGE_S);

      // A second tab of the same browser, on its live list.
      const other = await context.newPage();
      await other.goto(`${bffOrigin}/items`);
      await itemRow(other, doomed.name).waitFor();
      await liveState(other, 'live').waitFor();
      const otherListRequests: Request[] = [];
      other.on('request', (request) => {
        const url = new URL(request.url());
        if (url.pathname === '/api/items' && request.method() === 'GET') otherListRequests.push(request);
      });
      let otherNavigations = 0;
      other.on('framenavigated', (frame) => {
        if (frame === other.mainFrame()) otherNavigations += 1;
      });

      // Confirm: the delete goes through now.
      const [deleted] = await Promise.all([
        waitForBffResponse(page, bffOrigin, 'DELETE', `/api/items/${doomed.id}`),
        confirm.click(),
      ]);
      expect(deleted.status()).toBe(204);
      await page.locator('.success', { hasText: exactText(`Deleted “${doomed.name}”.`) }).waitFor();
      await itemRow(page, doomed.name).waitFor({ state: 'detached' });
      expect(await page.getByTestId('pending-delete').count()).toBe(0);
      expect(await page.getByTestId('step-up-required').count()).toBe(0);
      await itemRow(page, keeper.name).waitFor();

      // The other tab's list follows, carried by its socket.
      await itemRow(other, doomed.name).waitFor({ state: 'detached' });
      await itemRow(other, keeper.name).waitFor();
      expect(otherListRequests).toEqual([]);
      expect(otherNavigations).toBe(0);

      // And the API agrees.
      const names = await listedNames(page);
      expect(names).toContain(keeper.name);
      expect(names).not.toContain(doomed.name);
      expect(await page.evaluate(() => sessionStorage.getItem('okta-bff.pending-delete'))).toBeNull();
      await other.close();
    } finally {
      await context.close();
    }
  });
});
