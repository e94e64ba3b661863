import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../app-env.ts';
import { createMemoryRateLimiter, type RateDecision, type RateLimiter } from '../http/rate-limit.ts';
import { createLogger } from '../logger.ts';
import { rateLimit } from './rate-limit.ts';

const ADDRESS = '203.0.113.9';
const OVER: RateDecision = { ok: false, retryAfterS: 42 };

/**
 * The middleware in front of a handler that counts the requests reaching it (what would go on to
 * the IdP), with the client address set as `requestContext` sets it; log lines are kept.
 */
function makeApp(limiter: RateLimiter, clientAddress: string | undefined) {
  const reached: string[] = [];
  const logLines: Record<string, unknown>[] = [];
  const log = createLogger('info', {
    write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('clientAddress', clientAddress);
    c.set('log', log);
    await next();
  });
  app.get('/auth/login', rateLimit(limiter), (c) => {
    reached.push(c.req.path);
    return c.redirect('https://idp.example/authorize', 302);
  });
  return { app, reached, logLines };
}

/** A limiter that answers `decision` and records the keys it was asked about. */
function fixedLimiter(decision: RateDecision) {
  const keys: string[] = [];
  const limiter: RateLimiter = {
    hit: async (key) => {
      keys.push(key);
      return decision;
    },
  };
  return { limiter, keys };
}

describe('rateLimit', () => {
  it('lets a request within the budget through, and counts it once', async () => {
    const { limiter, keys } = fixedLimiter({ ok: true });
    const { app, reached } = makeApp(limiter, ADDRESS);
    const res = await app.request('/auth/login');
    expect(res.status).toBe(302);
    expect(reached).toEqual(['/auth/login']);
    expect(keys).toEqual([ADDRESS]);
  });

  it.each<[string, string | undefined, string]>([
    ['an IPv4 address as it is', '203.0.113.9', '203.0.113.9'],
    ['an IPv4-mapped IPv6 address as the IPv4 address', '::ffff:203.0.113.9', '203.0.113.9'],
    ['an IPv6 address by its /64', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['an unknown address under one shared key', undefined, 'unknown'],
  ])('counts %s', async (_, address, key) => {
    const { limiter, keys } = fixedLimiter({ ok: true });
    await makeApp(limiter, address).app.request('/auth/login');
    expect(keys).toEqual([key]);
  });

  it.each<[string, Record<string, string>]>([
    ['a script (fetch)', { accept: '*/*' }],
    ['a script asking for JSON', { accept: 'application/json', 'sec-fetch-mode': 'cors' }],
  ])(
    'refuses %s over the budget: 429 rate_limited as JSON with Retry-After; nothing reaches the route',
    async (_, headers) => {
      const { limiter } = fixedLimiter(OVER);
      const { app, reached, logLines } = makeApp(limiter, ADDRESS);
      const res = await app.request('/auth/login', { headers });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('42');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await res.json();
      expect(body.error).toBe('rate_limited');
      expect(body.message).toMatch(/42 seconds/);
      expect(reached).toEqual([]);
      expect(logLines).toMatchObject([{ code: 'rate_limited', retryAfterS: 42 }]);
    },
  );

  it.each<[string, Record<string, string>]>([
    ['a navigation (Sec-Fetch-Mode: navigate)', { 'sec-fetch-mode': 'navigate' }],
    ['a request for HTML (an older browser)', { accept: 'text/html,application/xhtml+xml' }],
  ])('refuses %s over the budget: 429 as a page a person can read, with Retry-After', async (_, headers) => {
    const { limiter } = fixedLimiter(OVER);
    const { app, reached } = makeApp(limiter, ADDRESS);
    const res = await app.request('/auth/login', { headers });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('42');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(await res.text()).toContain('try again in 42 seconds');
    expect(reached).toEqual([]);
  });

  it('with the in-memory limiter: the request over the limit is refused, other addresses are not', async () => {
    let nowMs = 1_000_000;
    const limiter = createMemoryRateLimiter({ limit: 2, nowMs: () => nowMs });
    const one = makeApp(limiter, ADDRESS);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await one.app.request('/auth/login')).status);
    expect(statuses).toEqual([302, 302, 429]);
    expect(one.reached).toHaveLength(2);
    expect((await makeApp(limiter, '198.51.100.7').app.request('/auth/login')).status).toBe(302);
    nowMs += 60_000; // the next window
    expect((await one.app.request('/auth/login')).status).toBe(302);
  });
});
