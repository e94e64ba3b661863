/**
 * Sign-in with `OKTA_RESPONSE_MODE=form_post` (the tutorial's PKCE variant) in Debian's Chromium
 * against the production build. The IdP answers the authorization request with an auto-submitted
 * form, so the callback is a cross-site POST: the transaction cookie must travel with it
 * (`SameSite=None; Secure`), and the person must still land signed in where they started.
 *
 * The IdP is served as `127.0.0.1` and the BFF as `localhost`: two different sites, as Okta's
 * domain and an app's are. With both on `localhost` the POST would be same-site and a
 * `SameSite=Lax` transaction cookie would pass unnoticed.
 *
 * @see docs/http-contract.md, "Routes" and "Cookies"
 * @see https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html
 */
import { DEV_USERS } from '@okta-bff/dev-idp';
import type { BrowserContext, Cookie, Page, Request } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  idpLoginForm,
  scriptVisibleBffCookies,
  submitIdpLogin,
  waitForBffResponse,
} from './support/actions.ts';
import { useBrowserBed } from './support/bed.ts';
import { openPage } from './support/browser.ts';

const alice = DEV_USERS[0]!;

/** What the test keeps of a callback request: never a parameter's value (they are a code and a state). */
interface CallbackSeen {
  readonly method: string;
  readonly queryFieldNames: readonly string[];
  readonly contentType: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly origin: string | undefined;
  readonly formFieldNames: readonly string[];
}

/** A cookie's name and attributes, without its value, so a failing assertion never prints it. */
function cookieAttributes({ value: _value, ...attributes }: Cookie): Omit<Cookie, 'value'> {
  return attributes;
}

async function describeCallback(request: Request): Promise<CallbackSeen> {
  const headers = await request.allHeaders();
  const body = request.postData();
  return {
    method: request.method(),
    queryFieldNames: [...new URL(request.url()).searchParams.keys()].sort(),
    contentType: headers['content-type'],
    secFetchSite: headers['sec-fetch-site'],
    origin: headers.origin,
    formFieldNames: body === null ? [] : [...new URLSearchParams(body).keys()].sort(),
  };
}

describe('sign-in with OKTA_RESPONSE_MODE=form_post (real browser, production build)', () => {
  const bed = useBrowserBed({ bffEnv: { OKTA_RESPONSE_MODE: 'form_post' }, idpPublicHost: '127.0.0.1' });
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    ({ context, page } = await openPage(bed.browser));
  });

  it('completes the cross-site POST callback, lands on the starting page signed in, and signs out', async () => {
    const { bffOrigin, idp, config } = bed.stack;
    expect(config.responseMode).toBe('form_post');
    expect(new URL(idp.origin).hostname).not.toBe(new URL(bffOrigin).hostname);

    const callbackRequests: Promise<CallbackSeen>[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === bffOrigin && url.pathname === config.callbackPath) {
        callbackRequests.push(describeCallback(request));
      }
    });

    // Start signed out on a page other than the home page: that page is the returnTo.
    await page.goto(`${bffOrigin}/items`);
    const authorize = page.waitForRequest((request) =>
      request.url().startsWith(`${idp.issuer}/v1/authorize?`),
    );
    await Promise.all([
      page.waitForURL((url) => url.origin === idp.origin),
      page.getByTestId('sign-in').click(),
    ]);
    expect(new URL((await authorize).url()).searchParams.get('response_mode')).toBe('form_post');
    await idpLoginForm(page).username.waitFor();

    // The login transaction is bound to this browser by a cookie that a cross-site POST carries.
    const transactionCookies = (await context.cookies(bffOrigin))
      .filter((c) => c.name.startsWith('bff_txn.'))
      .map(cookieAttributes);
    expect(transactionCookies).toHaveLength(1);
    expect(transactionCookies[0]).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: 'None',
      path: '/',
    });

    const callbackResponse = waitForBffResponse(page, bffOrigin, 'POST', config.callbackPath);
    const firstItems = waitForBffResponse(page, bffOrigin, 'GET', '/api/items');
    // Awaited below; if an earlier assertion fails first, the browser closing must not also
    // surface as an unhandled rejection that hides the real failure.
    for (const pending of [callbackResponse, firstItems]) pending.catch(() => undefined);
    await submitIdpLogin(page, bffOrigin, alice);

    // The IdP's form came back as one cross-site POST with a form body, nothing in the URL.
    const callbacksSeen = await Promise.all(callbackRequests);
    expect(callbacksSeen).toEqual([
      {
        method: 'POST',
        queryFieldNames: [],
        contentType: 'application/x-www-form-urlencoded',
        secFetchSite: 'cross-site',
        origin: idp.origin,
        // RFC 9207: the dev IdP, like Okta, names itself in the response (`iss`).
        formFieldNames: ['code', 'iss', 'state'],
      },
    ]);
    const callback = await callbackResponse;
    expect(callback.status()).toBe(302);
    expect(callback.headers().location).toBe('/items');

    // Signed in, on the page the sign-in started from, and its API call went through.
    await page.getByTestId('sign-out').waitFor();
    const user = await page.evaluate(async () => (await fetch('/auth/user')).json());
    expect(user).toMatchObject({ authenticated: true, user: { name: alice.claims.name } });
    expect(new URL(page.url()).pathname).toBe('/items');
    expect(new URL(page.url()).search).toBe('');
    expect((await firstItems).status()).toBe(200);

    // The transaction is over; the session is in HttpOnly cookies the page's script cannot read.
    const cookies = await context.cookies(bffOrigin);
    expect(cookies.filter((c) => c.name.startsWith('bff_txn')).map((c) => c.name)).toEqual([]);
    const sessionCookies = cookies
      .filter((c) => c.name === 'bff_session' || c.name.startsWith('bff_session.'))
      .map(cookieAttributes);
    expect(sessionCookies.length).toBeGreaterThan(0);
    for (const cookie of sessionCookies) {
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    }
    expect(await scriptVisibleBffCookies(page)).toEqual([]);

    // /api/items from the page: add an item, and it is listed.
    const list = page.getByTestId('items-list');
    await list.waitFor({ state: 'attached' });
    const itemName = `Written after a form_post sign-in ${Date.now()}`;
    await page.getByTestId('item-name-input').fill(itemName);
    const created = waitForBffResponse(page, bffOrigin, 'POST', '/api/items');
    await page.getByTestId('add-item').click();
    expect((await created).status()).toBe(201);
    await list.getByText(itemName, { exact: true }).waitFor();

    // Sign out: the BFF forgets the session and the IdP's end-session endpoint brings the
    // browser back to the SPA, signed out, with the IdP's session ended and the refresh token revoked.
    idp.events.clear();
    const endSession = page.waitForRequest((request) => request.url().startsWith(`${idp.issuer}/v1/logout?`));
    await page.getByTestId('sign-out').click();
    const logoutUrl = new URL((await endSession).url());
    expect(logoutUrl.searchParams.get('post_logout_redirect_uri')).toBe(`${bffOrigin}/`);
    await page.waitForURL((url) => url.origin === bffOrigin && url.pathname === '/');
    await page.getByTestId('sign-in').waitFor();
    const remaining = await context.cookies(bffOrigin);
    expect(remaining.filter((c) => c.name.startsWith('bff_')).map((c) => c.name)).toEqual([]);
    expect(await page.evaluate(async () => (await fetch('/auth/user')).status)).toBe(401);
    expect(idp.events.endSessions).toMatchObject([
      { hadSession: true, postLogoutRedirectUri: `${bffOrigin}/` },
    ]);
    expect(idp.events.revokedRefreshTokenCount).toBe(1);
  });
});
