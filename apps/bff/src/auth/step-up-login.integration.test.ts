/**
 * Step-up sign-in end to end (RFC 9470): an upstream's challenge, the login it links to, the
 * embedded IdP asking for the second factor, and the callback holding the new sign-in against the
 * requirement. The previous session must survive every refusal.
 */
import { ACR_TWO_FACTOR, DEV_OTP_CODE } from '@okta-bff/dev-idp';
import { driveIdpLogin } from '@okta-bff/dev-idp/testing';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../testing/gateway.ts';
import { type Bff, CookieJar, DEV_USERS, sendCallback, signIn } from '../testing/harness.ts';

let g: Gateway;
let weak: Gateway;
beforeAll(async () => {
  [g, weak] = await Promise.all([startGateway(), startGateway({ ignoreAcrValues: true })]);
});
afterAll(async () => {
  await Promise.all([g?.close(), weak?.close()]);
});

const routes = (origin: string) =>
  JSON.stringify([{ name: 'items', prefix: '/api/items', upstream: `${origin}/items` }]);
const user = DEV_USERS[0]!;

/** Signs in, then makes the call the API answers with `challenge`; returns the login link. */
async function challenged(bed: Gateway, challenge = 'step-up', options: { nowMs?: () => number } = {}) {
  const bff = await bed.h.startBff({ API_ROUTES: routes(bed.rec.origin) }, options);
  const jar = new CookieJar();
  await signIn(bff, jar);
  const before = await bed.sessionIn(jar);
  const res = await bff.fetch(`/api/items/7/${challenge}`, {
    jar,
    method: 'DELETE',
    headers: { 'x-csrf': '1', referer: `${bff.origin}/items` },
  });
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: string; login: string };
  expect(body.error).toBe('step_up_required');
  return { bff, jar, before, login: body.login };
}

/** Follows the login link through the IdP (password, then the one-time code when asked). */
async function stepUp(bff: Bff, jar: CookieJar, login: string) {
  const start = await bff.fetch(login, { jar });
  expect(start.status).toBe(302);
  const authorizeUrl = new URL(start.headers.get('location') ?? '');
  const pages: string[] = [];
  const request = await driveIdpLogin({
    authorizeUrl,
    username: user.login,
    password: user.password,
    onPage: (page) => void pages.push(page),
  });
  const callback = await sendCallback(bff, jar, request);
  return { authorizeUrl, pages, callback };
}

const apiWorks = async (bff: Bff, jar: CookieJar) =>
  (await bff.fetch('/api/items/7', { jar, headers: { 'x-csrf': '1' } })).status;

describe('a step-up sign-in', () => {
  it('asks the IdP for the requirement, gets the second factor, and replaces the session', async () => {
    const { bff, jar, before, login } = await challenged(g);
    const { authorizeUrl, pages, callback } = await stepUp(bff, jar, login);
    expect(authorizeUrl.searchParams.get('acr_values')).toBe(ACR_TWO_FACTOR);
    expect(authorizeUrl.searchParams.get('max_age')).toBe('300');
    expect(pages).toContain('otp');
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/items');
    const after = await g.sessionIn(jar);
    expect(after.sid).not.toBe(before.sid);
    expect(decodeJwt(after.idToken ?? '').acr).toBe(ACR_TWO_FACTOR);
    expect(await apiWorks(bff, jar)).toBe(200);
    // The step-up cookie was used once: the same link is refused now, with nothing sent to the IdP.
    const again = await bff.fetch(login, { jar });
    expect(again.headers.get('location')).toBe('/?login_error=step_up_invalid');
    expect(DEV_OTP_CODE).toBe('123456');
  });

  it('keeps the previous session when the IdP signs in more weakly than asked (step_up_failed)', async () => {
    const { bff, jar, before, login } = await challenged(weak);
    const { pages, callback } = await stepUp(bff, jar, login);
    expect(pages).not.toContain('otp');
    expect(callback.headers.get('location')).toBe('/?login_error=step_up_failed');
    expect((callback.headers.get('set-cookie') ?? '').includes('bff_session=')).toBe(false);
    expect((await weak.sessionIn(jar)).sid).toBe(before.sid);
    expect(await apiWorks(bff, jar)).toBe(200);
    expect(bff.logs.some((l) => l.includes('"code":"step_up_failed"'))).toBe(true);
  });

  it('refuses a sign-in older than max_age (step_up_failed), the session untouched', async () => {
    let shiftMs = 0;
    const { bff, jar, before, login } = await challenged(g, 'step-up-recent', {
      nowMs: () => Date.now() + shiftMs,
    });
    // The BFF's clock runs 2 minutes ahead of the IdP's: the new auth_time is 120 s old to it.
    shiftMs = 120_000;
    const { authorizeUrl, callback } = await stepUp(bff, jar, login);
    expect(authorizeUrl.searchParams.get('max_age')).toBe('30');
    expect(authorizeUrl.searchParams.has('acr_values')).toBe(false);
    expect(callback.headers.get('location')).toBe('/?login_error=step_up_failed');
    expect((await g.sessionIn(jar)).sid).toBe(before.sid);
  });

  it('refuses a forged id, and an id from another browser, before anything reaches the IdP', async () => {
    const { bff, jar, login } = await challenged(g);
    const forged = login.replace(/stepUp=[^&]+/, 'stepUp=AAAAAAAAAAAAAAAAAAAAAA');
    const refused = await bff.fetch(forged, { jar });
    expect(refused.headers.get('location')).toBe('/?login_error=step_up_invalid');
    const otherBrowser = new CookieJar();
    await signIn(bff, otherBrowser);
    const stolen = await bff.fetch(login, { jar: otherBrowser });
    expect(stolen.headers.get('location')).toBe('/?login_error=step_up_invalid');
    // The forged id used up nothing: the right browser's link still works.
    const real = await bff.fetch(login, { jar });
    expect(new URL(real.headers.get('location') ?? '/', 'http://x').searchParams.get('acr_values')).toBe(
      ACR_TWO_FACTOR,
    );
  });
});

describe('a route that requires step-up up front', () => {
  it('answers step_up_required without calling the upstream, then forwards once the session meets it', async () => {
    const routesWithStepUp = JSON.stringify([
      {
        name: 'admin',
        prefix: '/api/admin',
        upstream: `${g.rec.origin}/admin`,
        stepUp: { acrValues: [ACR_TWO_FACTOR], maxAge: 300 },
      },
    ]);
    const bff = await g.h.startBff({ API_ROUTES: routesWithStepUp });
    const jar = new CookieJar();
    await signIn(bff, jar);
    g.rec.requests.length = 0;
    const refused = await bff.fetch('/api/admin/users', { jar, headers: { 'x-csrf': '1' } });
    expect(refused.status).toBe(401);
    const { error, login } = (await refused.json()) as { error: string; login: string };
    expect(error).toBe('step_up_required');
    expect(g.rec.requests).toEqual([]);
    const { pages, callback } = await stepUp(bff, jar, login);
    expect(pages).toContain('otp');
    expect(callback.headers.get('location')).toBe('/');
    expect((await bff.fetch('/api/admin/users', { jar, headers: { 'x-csrf': '1' } })).status).toBe(200);
    expect(g.rec.requests.map((r) => r.url)).toEqual(['/admin/users']);
  });
});

describe('GET /auth/user', () => {
  it('tells when the session ends and how the user signed in', async () => {
    const bff = await g.h.startBff({ SESSION_IDLE_TIMEOUT_S: '600', SESSION_MAX_AGE_S: '3600' });
    const jar = new CookieJar();
    const startS = Math.floor(Date.now() / 1000);
    await signIn(bff, jar);
    const body = (await (await bff.fetch('/auth/user', { jar })).json()) as {
      session: { expiresAt: number; idleExpiresAt: number; acr: string | null; authTime: number | null };
    };
    expect(body.session.expiresAt).toBeGreaterThanOrEqual(startS + 3600);
    expect(body.session.idleExpiresAt).toBeGreaterThanOrEqual(startS + 600);
    expect(body.session.idleExpiresAt).toBeLessThan(startS + 3600);
    expect(body.session.acr).toBe('urn:okta:loa:1fa:pwd');
    expect(body.session.authTime).toBeGreaterThanOrEqual(startS - 5);
  });
});
