/**
 * The whole journey in Debian's Chromium against the production build: sign in at the IdP, see
 * the profile, use the items API through the BFF, sign out everywhere. Along the way, the browser
 * must never hold a token: no script-readable session cookie, and no JWT in anything the BFF sent.
 *
 * @see docs/http-contract.md
 */
import { DEV_USERS } from '@okta-bff/dev-idp';
import { DEV_IDP } from '@okta-bff/oidc';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  claimRow,
  idpLoginForm,
  scriptVisibleBffCookies,
  submitIdpLogin,
  waitForBffResponse,
} from './support/actions.ts';
import { useBrowserBed } from './support/bed.ts';
import {
  JWT_PATTERN,
  openPage,
  type ReceivedResponse,
  recordResponses,
  saveScreenshot,
} from './support/browser.ts';

const alice = DEV_USERS[0]!;

describe('sign-in journey (real browser, production build)', () => {
  const bed = useBrowserBed();
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    ({ context, page } = await openPage(bed.browser));
  });

  it('signs in, shows profile and items, signs out at the IdP too, and never gives the browser a token', async () => {
    const { bffOrigin, idp } = bed.stack;
    const received = await recordResponses(page, bffOrigin);

    // Signed out: the SPA offers to sign in.
    await page.goto(`${bffOrigin}/`);
    await page.getByTestId('sign-in').waitFor();
    await saveScreenshot(page, 'home-signed-out');

    // The sign-in button leaves for the IdP's own login page.
    await Promise.all([
      page.waitForURL((url) => url.origin === idp.origin),
      page.getByTestId('sign-in').click(),
    ]);
    await idpLoginForm(page).username.waitFor();
    await saveScreenshot(page, 'idp-login');
    await submitIdpLogin(page, bffOrigin, alice);

    // Back on the SPA, signed in, greeted by name.
    expect(new URL(page.url()).pathname).toBe('/');
    await page.getByTestId('greeting').filter({ hasText: alice.claims.name }).waitFor();
    await saveScreenshot(page, 'home-signed-in');

    const cookies = await context.cookies(bffOrigin);
    const sessionCookies = cookies.filter(
      (c) => c.name === 'bff_session' || c.name.startsWith('bff_session.'),
    );
    expect(sessionCookies.length).toBeGreaterThan(0);
    for (const cookie of sessionCookies) {
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    }
    // The login transaction is over: its cookie is gone.
    expect(cookies.filter((c) => c.name.startsWith('bff_txn')).map((c) => c.name)).toEqual([]);
    expect(await scriptVisibleBffCookies(page)).toEqual([]);

    // Profile: name and email from the IdP, and when the session ends.
    await page.getByRole('link', { name: 'Profile', exact: true }).click();
    await page.waitForURL(`${bffOrigin}/profile`);
    await claimRow(page, 'name', alice.claims.name).waitFor();
    await claimRow(page, 'email', alice.claims.email).waitFor();
    const expires = page.getByTestId('session-expires');
    await expires.waitFor();
    expect(Date.parse((await expires.getAttribute('datetime')) ?? '')).toBeGreaterThan(Date.now());
    await saveScreenshot(page, 'profile');

    // Items: they load through the BFF, one is added, and it survives a reload.
    const firstList = waitForBffResponse(page, bffOrigin, 'GET', '/api/items');
    await page.getByRole('link', { name: 'Items', exact: true }).click();
    expect((await firstList).status()).toBe(200);
    const list = page.getByTestId('items-list');
    // Attached, not visible: the list is an empty (zero-height) <ul> for a new user.
    await list.waitFor({ state: 'attached' });
    const itemName = `Written by the e2e test ${Date.now()}`;
    await page.getByTestId('item-name-input').fill(itemName);
    const created = waitForBffResponse(page, bffOrigin, 'POST', '/api/items');
    await page.getByTestId('add-item').click();
    expect((await created).status()).toBe(201);
    await list.getByText(itemName, { exact: true }).waitFor();
    await saveScreenshot(page, 'items');

    const reloadedList = waitForBffResponse(page, bffOrigin, 'GET', '/api/items');
    await page.reload();
    expect((await reloadedList).status()).toBe(200);
    await page.getByTestId('items-list').getByText(itemName, { exact: true }).waitFor();
    expect(await scriptVisibleBffCookies(page)).toEqual([]);

    // Sign out: the BFF forgets the session, then the browser goes through the IdP's end-session
    // endpoint and comes back to the SPA with the state the BFF put in the logout URL.
    idp.events.clear();
    const endSession = page.waitForRequest((request) => request.url().startsWith(`${idp.issuer}/v1/logout?`));
    await page.getByTestId('sign-out').click();
    const logoutUrl = new URL((await endSession).url());
    expect(logoutUrl.searchParams.get('post_logout_redirect_uri')).toBe(`${bffOrigin}/`);
    const logoutState = logoutUrl.searchParams.get('state');
    expect(logoutState).toBeTruthy();
    await page.waitForURL(
      (url) =>
        url.origin === bffOrigin && url.pathname === '/' && url.searchParams.get('state') === logoutState,
    );
    await page.getByTestId('sign-in').waitFor();
    await saveScreenshot(page, 'signed-out');

    expect(idp.events.endSessions).toMatchObject([
      { hadSession: true, postLogoutRedirectUri: `${bffOrigin}/` },
    ]);
    expect(idp.events.revokedRefreshTokenCount).toBe(1);
    const remaining = await context.cookies(bffOrigin);
    expect(remaining.filter((c) => c.name.startsWith('bff_')).map((c) => c.name)).toEqual([]);
    const userStatus = await page.evaluate(async () => (await fetch('/auth/user')).status);
    expect(userStatus).toBe(401);

    // The IdP session ended too: signing in again asks for the password instead of coming straight
    // back signed in. Both outcomes are awaited so a regression fails fast with a clear reason.
    await page.getByTestId('sign-in').click();
    const outcome = await Promise.race([
      idpLoginForm(page)
        .username.waitFor()
        .then(() => 'idp-login-form'),
      page
        .getByTestId('greeting')
        .waitFor()
        .then(() => 'signed-in-without-a-password'),
    ]).catch((error: unknown) => `neither (${String(error)})`);
    expect(outcome).toBe('idp-login-form');
    expect(new URL(page.url()).origin).toBe(idp.origin);

    // Nothing the BFF sent to this browser carried a token.
    await assertNoTokensReceived(await received.settle(), bffOrigin);
  });
});

/** Responses the journey must have seen with a readable body for the token check to mean anything. */
const MUST_INSPECT = [
  ['GET', '/'],
  ['GET', '/auth/user'],
  ['GET', '/api/items'],
  ['POST', '/api/items'],
  ['POST', '/auth/logout'],
] as const;

/**
 * No JWT in any header or body the BFF sent, with one exception by design: the answer to
 * `POST /auth/logout` is the IdP's end-session URL, whose `id_token_hint` is the ID token (Okta
 * requires it to end its session without asking). That body may carry exactly that one JWT, which
 * must be an ID token for this client, and no access or refresh token.
 */
async function assertNoTokensReceived(responses: ReceivedResponse[], bffOrigin: string): Promise<void> {
  for (const [method, path] of MUST_INSPECT) {
    const seen = responses.filter((r) => r.method === method && r.url.pathname === path);
    expect(seen.length, `${method} ${path} was received`).toBeGreaterThan(0);
    expect(
      seen.every((r) => r.body !== undefined),
      `${method} ${path} body read`,
    ).toBe(true);
  }
  expect(responses.some((r) => r.resourceType === 'Script' && r.body)).toBe(true);

  for (const response of responses) {
    const where = `${response.method} ${response.url.pathname}${response.url.search} (${response.status})`;
    if (response.method === 'POST' && response.url.pathname === '/auth/logout') {
      expect(response.headers, where).not.toMatch(JWT_PATTERN);
      assertLogoutBodyHoldsOnlyTheIdTokenHint(response.body ?? '', bffOrigin);
      continue;
    }
    expect(response.headers, `headers of ${where}`).not.toMatch(JWT_PATTERN);
    expect(response.body ?? '', `body of ${where}`).not.toMatch(JWT_PATTERN);
  }
}

function assertLogoutBodyHoldsOnlyTheIdTokenHint(body: string, bffOrigin: string): void {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  expect(Object.keys(parsed)).toEqual(['logoutUrl']);
  const logoutUrl = new URL(String(parsed.logoutUrl));
  const idTokenHint = logoutUrl.searchParams.get('id_token_hint') ?? '';
  expect(idTokenHint).toMatch(JWT_PATTERN);
  // An ID token for this client, not the access token (that one has `scp` and aud `api://default`).
  const claims = decodeJwtPayload(idTokenHint);
  expect(claims.aud).toBe(DEV_IDP.clientId);
  expect(claims).not.toHaveProperty('scp');
  expect(claims.nonce).toEqual(expect.any(String));
  // Apart from the hint, nothing token-shaped or token-named.
  logoutUrl.searchParams.delete('id_token_hint');
  expect(logoutUrl.href).not.toMatch(JWT_PATTERN);
  expect(body.replace(idTokenHint, '')).not.toMatch(JWT_PATTERN);
  expect(body).not.toMatch(/access_token|refresh_token/);
  expect(logoutUrl.searchParams.get('post_logout_redirect_uri')).toBe(`${bffOrigin}/`);
}

/** The payload of a compact JWS, unverified: only to tell which kind of token it is. */
function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
