/**
 * What a person does in the browser, as reusable steps: sign in at the IdP's page, find a claim in
 * the profile table, wait for one API call. Every step waits with Playwright's auto-waiting
 * locators; none sleeps. Test-only.
 */
import type { DevUser } from '@okta-bff/dev-idp';
import type { Locator, Page, Response } from 'playwright-core';

/** Escapes `text` for use inside a RegExp. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches an element whose whole (whitespace-normalised) text is `text`. */
export function exactText(text: string): RegExp {
  return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
}

/** The IdP's login form, by the labels a person reads (see packages/dev-idp/src/pages.ts). */
export function idpLoginForm(page: Page) {
  return {
    username: page.getByLabel('Username', { exact: true }),
    password: page.getByLabel('Password', { exact: true }),
    submit: page.getByRole('button', { name: 'Sign in', exact: true }),
  };
}

/**
 * Fills and submits the IdP's login form (the page must be showing it), then waits until the BFF
 * has brought the browser back to its own origin.
 */
export async function submitIdpLogin(page: Page, bffOrigin: string, user: DevUser): Promise<void> {
  const form = idpLoginForm(page);
  await form.username.fill(user.login);
  await form.password.fill(user.password);
  await Promise.all([page.waitForURL((url) => url.origin === bffOrigin), form.submit.click()]);
}

/**
 * Signs in from a signed-out page of the SPA: the sign-in button, the IdP's form, back to the
 * SPA. Resolves once the SPA shows the signed-in header.
 */
export async function signIn(page: Page, idpOrigin: string, bffOrigin: string, user: DevUser): Promise<void> {
  await Promise.all([
    page.waitForURL((url) => url.origin === idpOrigin),
    page.getByTestId('sign-in').click(),
  ]);
  await submitIdpLogin(page, bffOrigin, user);
  await page.getByTestId('sign-out').waitFor();
}

/** The row of the profile table for `claim`, present only when its value is exactly `value`. */
export function claimRow(page: Page, claim: string, value: string): Locator {
  return page
    .getByTestId('profile-table')
    .locator('tbody tr')
    .filter({ has: page.locator('th', { hasText: exactText(claim) }) })
    .filter({ has: page.locator('td', { hasText: exactText(value) }) });
}

/** Waits for the BFF's answer to `method path` (path without query). */
export function waitForBffResponse(
  page: Page,
  bffOrigin: string,
  method: string,
  path: string,
): Promise<Response> {
  return page.waitForResponse((response) => {
    const url = new URL(response.url());
    return url.origin === bffOrigin && url.pathname === path && response.request().method() === method;
  });
}

/** Whether the page's script can see any of the BFF's cookies (it must not: they are HttpOnly). */
export function scriptVisibleBffCookies(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    document.cookie
      .split(';')
      .map((pair) => pair.trim().split('=')[0] ?? '')
      .filter((name) => name.startsWith('bff_') || name.startsWith('__Host-bff_')),
  );
}

/** Calls the BFF from the page's own script, as the SPA does (same origin, `X-CSRF: 1`); JSON when it is JSON. */
export function fetchFromPage(
  page: Page,
  path: string,
  init: { method?: string; json?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  return page.evaluate(
    async ({ path, init }) => {
      const headers: Record<string, string> = { 'X-CSRF': '1', Accept: 'application/json' };
      if (init.json !== undefined) headers['Content-Type'] = 'application/json';
      const response = await fetch(path, {
        method: init.method ?? 'GET',
        headers,
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: the test reports the text.
      }
      return { status: response.status, body };
    },
    { path, init },
  );
}

/** The items page's live socket in `state`, as its status line shows it (`data-state`). */
export function liveState(page: Page, state: 'connecting' | 'live' | 'reconnecting'): Locator {
  return page.locator(`[data-testid="live-status"][data-state="${state}"]`);
}
