/**
 * What a person sees when something goes wrong, in Debian's Chromium against the production
 * build: a failed sign-in, a session that ended under the page, an API that is down. Each test
 * starts from a fresh browser profile.
 *
 * @see docs/http-contract.md
 */
import { DEV_USERS } from '@okta-bff/dev-idp';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idpLoginForm, signIn, submitIdpLogin, waitForBffResponse } from './support/actions.ts';
import { useBrowserBed } from './support/bed.ts';
import { openPage } from './support/browser.ts';

const [alice, bob] = [DEV_USERS[0]!, DEV_USERS[1]!];

/** The SPA's sentences (apps/web/src/login-error.ts), as the person reads them. */
const ACCESS_DENIED_MESSAGE = 'Sign-in was cancelled or is not allowed for your account.';
const LOGIN_EXPIRED_MESSAGE =
  'Your sign-in took too long or was started in another browser. Please sign in again.';
const GENERIC_LOGIN_ERROR_MESSAGE = 'Sign-in did not complete. Please try again.';

describe('error paths (real browser, production build)', () => {
  const bed = useBrowserBed();
  let context: BrowserContext;
  let page: Page;

  beforeEach(async () => {
    ({ context, page } = await openPage(bed.browser));
  });

  afterEach(async () => {
    bed.stack.setApiReachable(true);
    await context?.close();
  });

  async function sessionStatus(): Promise<number> {
    return page.evaluate(async () => (await fetch('/auth/user')).status);
  }

  it('shows a login_error from the callback in its own words and takes it out of the address bar', async () => {
    const { bffOrigin } = bed.stack;
    await page.goto(`${bffOrigin}/?login_error=access_denied`);
    const notice = page.getByTestId('login-error');
    await notice.filter({ hasText: ACCESS_DENIED_MESSAGE }).waitFor();
    // A reload or a shared link must not show the failure again.
    await page.waitForURL((url) => url.origin === bffOrigin && url.pathname === '/' && url.search === '');
    // The notice carries the way forward.
    await notice.getByTestId('sign-in').filter({ hasText: 'Try again' }).waitFor();

    // Whatever a crafted link puts there is never shown, let alone rendered as markup.
    await page.goto(`${bffOrigin}/?login_error=${encodeURIComponent('<img src=x id=injected>Call 555')}`);
    await notice.filter({ hasText: GENERIC_LOGIN_ERROR_MESSAGE }).waitFor();
    expect(await notice.textContent()).not.toContain('555');
    expect(await page.locator('#injected').count()).toBe(0);
  });

  it('refuses a callback this browser did not start and says so on the home page, without a session', async () => {
    const { bffOrigin, idp } = bed.stack;
    await page.goto(`${bffOrigin}/`);
    await Promise.all([
      page.waitForURL((url) => url.origin === idp.origin),
      page.getByTestId('sign-in').click(),
    ]);
    await idpLoginForm(page).username.waitFor();
    // The login transaction (state, nonce, PKCE verifier) is bound to this browser by its cookie.
    const transactionCookies = (await context.cookies(bffOrigin)).filter((c) => c.name.startsWith('bff_txn'));
    expect(transactionCookies.length).toBeGreaterThan(0);
    await context.clearCookies({ name: /^bff_txn/ });

    await submitIdpLogin(page, bffOrigin, alice);
    await page.getByTestId('login-error').filter({ hasText: LOGIN_EXPIRED_MESSAGE }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.getByTestId('sign-out').count()).toBe(0);
    expect(await sessionStatus()).toBe(401);
    const cookies = await context.cookies(bffOrigin);
    expect(cookies.filter((c) => c.name.startsWith('bff_')).map((c) => c.name)).toEqual([]);
  });

  it('shows "session ended" when /api answers 401, and signing in again returns to the page', async () => {
    const { bffOrigin, idp } = bed.stack;
    await page.goto(`${bffOrigin}/items`);
    await signIn(page, idp.origin, bffOrigin, alice);
    await page.getByTestId('items-list').waitFor({ state: 'attached' });

    // The BFF's session is gone (expired, signed out in another tab...) but the page still
    // thinks it is signed in. The IdP's own session cookie stays.
    await context.clearCookies({ name: /^bff_/ });
    const itemName = `Never stored ${Date.now()}`;
    await page.getByTestId('item-name-input').fill(itemName);
    const refused = waitForBffResponse(page, bffOrigin, 'POST', '/api/items');
    await page.getByTestId('add-item').click();
    const response = await refused;
    expect(response.status()).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthenticated' });

    const notice = page.getByTestId('session-ended');
    await notice.waitFor();
    expect(await page.getByTestId('sign-out').count()).toBe(0);

    // Signing in again comes back to /items; the IdP still knows the person, so no password.
    const callback = waitForBffResponse(page, bffOrigin, 'GET', '/authorization-code/callback');
    await notice.getByTestId('sign-in').click();
    expect((await callback).status()).toBe(302);
    await page.getByTestId('sign-out').waitFor();
    expect(new URL(page.url()).pathname).toBe('/items');
    const list = page.getByTestId('items-list');
    await list.waitFor({ state: 'attached' });
    expect(await list.getByText(itemName, { exact: true }).count()).toBe(0);
  });

  it('shows "service unavailable" while the API is unreachable, and recovers on "Try again"', async () => {
    const { bffOrigin, idp } = bed.stack;
    await page.goto(`${bffOrigin}/items`);
    await signIn(page, idp.origin, bffOrigin, bob);
    await page.getByTestId('items-list').waitFor({ state: 'attached' });

    bed.stack.setApiReachable(false);
    const failed = waitForBffResponse(page, bffOrigin, 'GET', '/api/items');
    await page.reload();
    const response = await failed;
    expect(response.status()).toBe(502);
    expect(await response.json()).toMatchObject({ error: 'upstream_unavailable' });
    const notice = page.getByTestId('service-unavailable');
    await notice.waitFor();
    // Still signed in: an API outage is not a session problem.
    await page.getByTestId('sign-out').waitFor();

    bed.stack.setApiReachable(true);
    const retried = waitForBffResponse(page, bffOrigin, 'GET', '/api/items');
    await notice.getByRole('button', { name: 'Try again' }).click();
    expect((await retried).status()).toBe(200);
    await page.getByTestId('items-list').waitFor({ state: 'attached' });
    expect(await notice.count()).toBe(0);
  });
});
