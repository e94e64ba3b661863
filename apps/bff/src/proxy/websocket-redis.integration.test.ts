/**
 * WebSockets with `SESSION_STORE=redis` and two BFF instances on one real redis-server: a session
 * ended on either instance closes the sockets the other holds (4401), and a Redis outage closes
 * nothing (unknown is not ended).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useRedisGateway } from '../testing/gateway.ts';
import { CookieJar, signIn } from '../testing/harness.ts';
import {
  closeOf,
  opened,
  startWsBff,
  startWsUpstream,
  type WsBff,
  type WsUpstream,
  wsRoutes,
} from './websocket-testing.ts';

const bed = useRedisGateway();
const started: WsBff[] = [];
let up: WsUpstream | undefined;
afterEach(async () => {
  await Promise.all(started.splice(0).map((bff) => bff.stop()));
  await up?.close();
  up = undefined;
});

/** Instances A and B on the same Redis, and a browser signed in through A with a socket open on A. */
async function twoInstances() {
  up = await startWsUpstream();
  const env = bed.redisEnv({ API_ROUTES: wsRoutes(up.origin) });
  delete env.API_UPSTREAM_URL;
  const [a, b] = await Promise.all([startWsBff({ h: bed.g.h, env }), startWsBff({ h: bed.g.h, env })]);
  started.push(a, b);
  const jar = new CookieJar();
  await signIn(a, jar);
  const ws = opened(await a.dial('/api/live', { jar }));
  return { a, b, jar, ws };
}

describe('the Redis store: whichever instance ends the session', () => {
  it('logout on instance B closes the socket held by instance A with 4401 within 2 s', async () => {
    const { b, jar, ws } = await twoInstances();
    const closed = closeOf(ws);
    expect((await b.fetch('/auth/logout', { method: 'POST', jar, headers: { 'x-csrf': '1' } })).status).toBe(
      200,
    );
    const { code, ms } = await closed;
    expect(code).toBe(4401);
    expect(ms).toBeLessThan(2_000);
  });

  it('logout on the instance that holds the socket closes it at once (its store tells it)', async () => {
    const { a, jar, ws } = await twoInstances();
    const closed = closeOf(ws);
    expect((await a.fetch('/auth/logout', { method: 'POST', jar, headers: { 'x-csrf': '1' } })).status).toBe(
      200,
    );
    const { code, ms } = await closed;
    expect(code).toBe(4401);
    expect(ms).toBeLessThan(2_000);
  });

  it('a back-channel logout received by instance B closes the socket on A with 4401', async () => {
    const { b, jar, ws } = await twoInstances();
    const sid = (await bed.sessionOf(jar)).idpSid;
    const closed = closeOf(ws);
    const res = await b.fetch('/auth/backchannel-logout', {
      method: 'POST',
      body: new URLSearchParams({ logout_token: await bed.g.h.idp.signLogoutToken({ sid }) }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    const { code, ms } = await closed;
    expect(code).toBe(4401);
    expect(ms).toBeLessThan(2_000);
  });

  it('an idled-out record (its TTL ran out) closes the socket, and the checks never slide the TTL', async () => {
    const { jar, ws } = await twoInstances();
    const key = `bff:s:{${(await bed.sessionOf(jar)).sid}}`;
    // The idle clock is the key's TTL: as if the SPA had been silent for all but the last 1.5 s.
    await bed.raw.pExpire(key, 1_500);
    const closed = closeOf(ws);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const ttl = await bed.raw.pTTL(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThan(500);
    const { code, ms } = await closed;
    expect(code).toBe(4401);
    expect(ms).toBeLessThan(3_000);
  });

  it('a Redis outage closes nothing; a session gone when Redis is back is closed then', async () => {
    const { ws } = await twoInstances();
    let closedCode: number | undefined;
    ws.once('close', (code) => {
      closedCode = code;
    });
    // The bed's own client reconnects by itself; its errors meanwhile are expected.
    const quiet = () => {};
    bed.raw.on('error', quiet);
    await bed.redis.stop();
    try {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(ws.readyState).toBe(WebSocket.OPEN);
      expect(closedCode).toBeUndefined();
    } finally {
      await bed.redis.start();
    }
    // This test Redis keeps nothing across a restart: the session is gone, and now known to be.
    await expect.poll(() => closedCode, { timeout: 8_000 }).toBe(4401);
    bed.raw.off('error', quiet);
  }, 30_000);
});
