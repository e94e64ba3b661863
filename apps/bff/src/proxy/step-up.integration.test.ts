/**
 * Step-up (RFC 9470) at the gateway: an upstream's `insufficient_user_authentication` challenge
 * becomes 401 `step_up_required` for the SPA, with the requirement kept in this browser's sealed
 * step-up cookie and the session untouched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_HEADERS, errorOf, type Gateway, sessionCookiesSet, startGateway } from '../testing/gateway.ts';

let g: Gateway;
beforeAll(async () => {
  g = await startGateway();
});
afterEach(() => {
  g.rec.requests.length = 0;
});
afterAll(async () => {
  await g?.close();
});

const routes = (origin: string) =>
  JSON.stringify([
    { name: 'items', prefix: '/api/items', upstream: `${origin}/items` },
    { name: 'public', prefix: '/api/public', upstream: `${origin}/public`, token: 'none' },
  ]);

describe('an upstream step-up challenge', () => {
  it('becomes 401 step_up_required with a login link; the requirement stays server-side; the session stays', async () => {
    const { bff, jar } = await g.signedIn({ API_ROUTES: routes(g.rec.origin) });
    const res = await g.raw('/api/items/7/step-up', {
      method: 'DELETE',
      headers: g.apiHeaders(jar, { origin: bff.origin, referer: `${bff.origin}/items?tab=2` }),
    });
    expect(errorOf(res)).toEqual({ status: 401, error: 'step_up_required' });
    const body = JSON.parse(res.text) as { login: string; message: string };
    expect(body.login).toMatch(/^\/auth\/login\?stepUp=[\w-]{22}&returnTo=%2Fitems%3Ftab%3D2$/);
    // The API's own challenge is not passed on; the requirement is not in the answer either.
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.text).not.toContain('2fa');
    const stepUpCookie = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('bff_stepup='));
    expect(stepUpCookie).toMatch(/HttpOnly/i);
    expect(stepUpCookie).not.toContain('2fa');
    // The session is untouched: no session cookie changed, and the next call works.
    expect(sessionCookiesSet(res)).toEqual([]);
    expect((await g.raw('/api/items/7', { headers: g.apiHeaders(jar) })).status).toBe(200);
  });

  it('a Referer from another site returns to /', async () => {
    const { jar } = await g.signedIn({ API_ROUTES: routes(g.rec.origin) });
    const res = await g.raw('/api/items/step-up', {
      headers: g.apiHeaders(jar, { referer: 'https://evil.example/phish' }),
    });
    expect((JSON.parse(res.text) as { login: string }).login).toMatch(/&returnTo=%2F$/);
  });

  it('is passed on as it is when no user token was sent (nothing the user could step up)', async () => {
    await g.signedIn({ API_ROUTES: routes(g.rec.origin) });
    const res = await g.raw('/api/public/step-up', { headers: API_HEADERS });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('insufficient_user_authentication');
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});
