/**
 * `RATE_LIMIT_LOGIN_PER_MIN` over real HTTP against the embedded IdP: per client address,
 * `GET /auth/login` and the front-channel logout share one budget a minute; over it, 429
 * `rate_limited` with `Retry-After` and nothing sent to the IdP (with PAR, each login is an IdP
 * call). `/api`, the callback and the back channel are not limited. With `SESSION_STORE=redis` the
 * budget holds across instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../testing/gateway.ts';
import { type Bff, CookieJar, INSTANCE_HEADER, signIn } from '../testing/harness.ts';
import { type RedisServer, startRedisServer } from '../testing/redis-server.ts';

let g: Gateway;
let redis: RedisServer;
beforeAll(async () => {
  [g, redis] = await Promise.all([startGateway(), startRedisServer()]);
});
afterAll(async () => {
  await g?.close();
  await redis?.close();
});

const login = (bff: Bff, headers: Record<string, string> = {}) => bff.fetch('/auth/login', { headers });
const parCount = () => g.h.idp.events.pushedAuthorizationRequests.length;

async function expectRateLimited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  expect(res.headers.get('cache-control')).toBe('no-store');
}

describe('the per-address login budget (cookie store: per instance)', () => {
  it('serves the budget, then 429 rate_limited with Retry-After, and nothing more reaches the IdP', async () => {
    const bff = await g.h.startBff({ RATE_LIMIT_LOGIN_PER_MIN: '3', OKTA_USE_PAR: 'true' });
    g.h.idp.events.clear();
    for (let i = 0; i < 3; i++) expect((await login(bff)).status).toBe(302);
    expect(parCount()).toBe(3);
    const refused = await login(bff);
    await expectRateLimited(refused);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    // A browser navigating here gets a page a person can read, with the same status.
    const page = await login(bff, { 'sec-fetch-mode': 'navigate', accept: 'text/html' });
    await expectRateLimited(page);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/try again in \d+ seconds/);
    expect(parCount()).toBe(3);
  });

  it('the front-channel logout shares the budget; /api, the callback and the back channel do not count', async () => {
    const bff = await g.h.startBff({ RATE_LIMIT_LOGIN_PER_MIN: '3', API_UPSTREAM_URL: g.rec.origin });
    const jar = new CookieJar();
    await signIn(bff, jar); // one login (the callback is not counted)
    const sid = (await g.sessionIn(jar)).idpSid ?? '';
    const front = (s: string) =>
      bff.fetch(`/auth/frontchannel-logout?${new URLSearchParams({ iss: g.h.idp.issuer, sid: s })}`);
    expect((await front('not-a-session')).status).toBe(200);
    expect((await login(bff)).status).toBe(302);
    await expectRateLimited(await front(sid));
    // The refused logout ended nothing.
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await g.raw('/api/items', { headers: g.apiHeaders(jar) })).status).toBe(200);
    }
    const token = await g.h.idp.signLogoutToken({ sid });
    const back = await bff.fetch('/auth/backchannel-logout', {
      method: 'POST',
      body: new URLSearchParams({ logout_token: token }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(back.status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });

  it('counts the TRUST_PROXY-believed client address, and ignores X-Forwarded-For without it', async () => {
    const trusting = await g.h.startBff({ RATE_LIMIT_LOGIN_PER_MIN: '1', TRUST_PROXY: '1' });
    expect((await login(trusting, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(302);
    await expectRateLimited(await login(trusting, { 'x-forwarded-for': '198.51.100.1' }));
    expect((await login(trusting, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(302);
    // Another address of the same IPv6 /64 is the same client.
    expect((await login(trusting, { 'x-forwarded-for': '2001:db8:1:2::1' })).status).toBe(302);
    await expectRateLimited(await login(trusting, { 'x-forwarded-for': '2001:db8:1:2::2' }));

    const direct = await g.h.startBff({ RATE_LIMIT_LOGIN_PER_MIN: '1' });
    expect((await login(direct, { 'x-forwarded-for': '198.51.100.3' })).status).toBe(302);
    await expectRateLimited(await login(direct, { 'x-forwarded-for': '198.51.100.4' }));
  });

  it('0 turns the limit off', async () => {
    const bff = await g.h.startBff({ RATE_LIMIT_LOGIN_PER_MIN: '0' });
    for (let i = 0; i < 40; i++) expect((await login(bff)).status).toBe(302);
  });
});

describe('the per-address login budget with SESSION_STORE=redis', () => {
  it('holds across instances: the counters live in Redis', async () => {
    const bff = await g.h.startBff(
      { RATE_LIMIT_LOGIN_PER_MIN: '4', SESSION_STORE: 'redis', REDIS_URL: redis.url, TRUST_PROXY: '1' },
      { instances: 2 },
    );
    const from = (instance: number) => ({
      [INSTANCE_HEADER]: String(instance),
      'x-forwarded-for': '192.0.2.9',
    });
    for (let i = 0; i < 4; i++) expect((await login(bff, from(i % 2))).status).toBe(302);
    await expectRateLimited(await login(bff, from(0)));
    await expectRateLimited(await login(bff, from(1)));
    expect((await login(bff, { ...from(1), 'x-forwarded-for': '192.0.2.10' })).status).toBe(302);
  });
});
