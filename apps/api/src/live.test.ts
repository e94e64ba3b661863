/**
 * `/live` against the real thing: the API on a loopback `node:http` server (HTTP through
 * `@hono/node-server`, handshakes through the `upgrade` event, as `server.ts` wires them) and `ws`
 * clients over real sockets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type ApiAppOptions, createApi } from './app.ts';
import { createMemoryItemStore } from './item-store.ts';
import type { LiveItemsMessage } from './live.ts';
import {
  bearer,
  createDpopKey,
  createTestIssuer,
  dpop,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestDpopKey,
  type TestIssuer,
} from './test-tokens.ts';

let idp: TestIssuer;
let aliceToken: string;
let bobToken: string;
let key: TestDpopKey;

beforeAll(async () => {
  idp = await createTestIssuer();
  aliceToken = await idp.signAccessToken({ sub: 'alice@example.com' });
  bobToken = await idp.signAccessToken({ sub: 'bob@example.com' });
  key = await createDpopKey('ES256');
});

interface RunningApi {
  origin: string;
  /** `ws://127.0.0.1:<port>/live` */
  liveUrl: string;
  api: ReturnType<typeof createApi>;
  logError: ReturnType<typeof vi.fn>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startApi(options: Partial<ApiAppOptions> = {}): Promise<RunningApi> {
  const logError = vi.fn();
  const api = createApi({
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwks: idp.jwks,
    logError,
    ...options,
  });
  const server = http.createServer(getRequestListener(api.app.fetch));
  server.on('upgrade', api.handleUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    api.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, liveUrl: `${origin.replace('http:', 'ws:')}/live`, api, logError };
}

/** A connected client that queues what it receives. */
interface Client {
  ws: WebSocket;
  /** The 101 answer's headers. */
  upgradeHeaders: http.IncomingHttpHeaders;
  /** Messages received so far, parsed. */
  messages: LiveItemsMessage[];
  /** Resolves with message number `index` (0-based) once it has arrived. */
  message(index: number): Promise<LiveItemsMessage>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(url: string, headers: Record<string, string>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: LiveItemsMessage[] = [];
    let upgradeHeaders: http.IncomingHttpHeaders = {};
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    ws.on('upgrade', (res) => {
      upgradeHeaders = res.headers;
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`handshake refused with ${res.statusCode}`));
      res.resume();
    });
    ws.on('error', reject);
    ws.on('open', () => {
      cleanups.push(() => ws.terminate());
      resolve({
        ws,
        upgradeHeaders,
        messages,
        message: (index) =>
          vi.waitFor(
            () => {
              const message = messages[index];
              if (!message) throw new Error(`no message ${index} yet`);
              return message;
            },
            { timeout: 3000, interval: 10 },
          ),
        closed,
      });
    });
  });
}

interface Refusal {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { error: string; message: string };
}

/** Attempts a handshake that must be refused; resolves with the HTTP answer. */
function refusal(url: string, headers: Record<string, string>): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the handshake was accepted'));
    });
    ws.on('error', () => {
      // 'unexpected-response' answers; an error after it (the aborted request) says nothing more.
    });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
      );
    });
  });
}

async function postItem(origin: string, headers: Record<string, string>, name: string) {
  const res = await fetch(`${origin}/items`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(201);
  return res.json();
}

const nowS = () => Math.floor(Date.now() / 1000);

describe('/live: messages', () => {
  it("sends the user's items at once, then again after each POST /items by the same sub", async () => {
    const { origin, liveUrl } = await startApi();
    const milk = await postItem(origin, bearer(aliceToken), 'milk');
    const alice = await connect(liveUrl, bearer(aliceToken));
    expect(await alice.message(0)).toEqual({ type: 'items', items: [milk] });

    const bread = await postItem(origin, bearer(aliceToken), 'bread');
    expect(await alice.message(1)).toEqual({ type: 'items', items: [milk, bread] });
  });

  it('tells every socket of the user, whichever connection (or token) posted, and no one else', async () => {
    const { origin, liveUrl } = await startApi();
    const aliceTab1 = await connect(liveUrl, bearer(aliceToken));
    const aliceTab2 = await connect(liveUrl, bearer(aliceToken));
    const bob = await connect(liveUrl, bearer(bobToken));
    for (const client of [aliceTab1, aliceTab2, bob])
      expect(await client.message(0)).toEqual({ type: 'items', items: [] });

    const bobsItem = await postItem(origin, bearer(bobToken), "bob's");
    expect((await bob.message(1)).items).toEqual([bobsItem]);
    // Another token of the same user: the owner is the sub, not the token.
    const otherAliceToken = await idp.signAccessToken({ sub: 'alice@example.com', jti: 'another' });
    const alicesItem = await postItem(origin, bearer(otherAliceToken), "alice's");
    expect((await aliceTab1.message(1)).items).toEqual([alicesItem]);
    expect((await aliceTab2.message(1)).items).toEqual([alicesItem]);
    // Bob's add produced nothing on Alice's sockets, Alice's nothing on Bob's.
    expect(aliceTab1.messages).toHaveLength(2);
    expect(bob.messages).toHaveLength(2);
  });

  it('sends the list again after a DELETE /items/:id by the same sub (with a step-up token)', async () => {
    const { origin, liveUrl } = await startApi();
    const milk = await postItem(origin, bearer(aliceToken), 'milk');
    const bread = await postItem(origin, bearer(aliceToken), 'bread');
    const alice = await connect(liveUrl, bearer(aliceToken));
    const bob = await connect(liveUrl, bearer(bobToken));
    expect(await alice.message(0)).toEqual({ type: 'items', items: [milk, bread] });
    await bob.message(0);

    const steppedUp = await idp.signAccessToken({
      sub: 'alice@example.com',
      acr: 'urn:okta:loa:2fa:any',
      auth_time: nowS(),
    });
    const res = await fetch(`${origin}/items/${milk.id}`, { method: 'DELETE', headers: bearer(steppedUp) });
    expect(res.status).toBe(204);
    expect(await alice.message(1)).toEqual({ type: 'items', items: [bread] });
    expect(bob.messages).toHaveLength(1);

    // A refused delete (no step-up) changes nothing, so no message goes out.
    const refused = await fetch(`${origin}/items/${bread.id}`, {
      method: 'DELETE',
      headers: bearer(aliceToken),
    });
    expect(refused.status).toBe(401);
    await postItem(origin, bearer(aliceToken), 'eggs');
    expect((await alice.message(2)).items.map((item: { name: string }) => item.name)).toEqual([
      'bread',
      'eggs',
    ]);
  });

  it('sends the final list after a burst of adds, in order', async () => {
    const { origin, liveUrl } = await startApi();
    const alice = await connect(liveUrl, bearer(aliceToken));
    await alice.message(0);
    const names = ['a', 'b', 'c', 'd', 'e'];
    await Promise.all(names.map((name) => postItem(origin, bearer(aliceToken), name)));
    await vi.waitFor(() => expect(alice.messages.at(-1)?.items).toHaveLength(names.length));
    const counts = alice.messages.map((m) => m.items.length);
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
  });

  it('ignores what a client sends, and closes with 1009 on an oversized frame', async () => {
    const { origin, liveUrl } = await startApi();
    const alice = await connect(liveUrl, bearer(aliceToken));
    await alice.message(0);
    alice.ws.send('hello');
    await postItem(origin, bearer(aliceToken), 'still served');
    expect((await alice.message(1)).items).toHaveLength(1);
    alice.ws.send('x'.repeat(10_000));
    expect((await alice.closed).code).toBe(1009);
  });
});

describe('/live: the handshake needs a valid access token', () => {
  it('refuses a handshake without a token: 401 and the same challenge as HTTP, no upgrade', async () => {
    const { liveUrl } = await startApi();
    const res = await refusal(liveUrl, {});
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('unauthenticated');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", DPoP algs="ES256 RS256 PS256 EdDSA"');
    expect(res.headers.upgrade).toBeUndefined();
  });

  it.each([
    [
      'an expired token',
      () => idp.signAccessToken({ iat: nowS() - 600, exp: nowS() - 60 }),
      'The access token expired',
    ],
    [
      'a token for another API',
      () => idp.signAccessToken({ aud: 'api://other' }),
      'The access token is not meant for this API',
    ],
    ['a malformed token', async () => 'not-a-jwt', 'The access token is malformed'],
  ])('refuses %s with 401 invalid_token', async (_, token, description) => {
    const { liveUrl } = await startApi();
    const res = await refusal(liveUrl, bearer(await token()));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', message: description });
    expect(res.headers['www-authenticate']).toBe(
      `Bearer error="invalid_token", error_description="${description}"`,
    );
  });

  it('answers 503 without a challenge when the keys cannot be fetched, and logs it', async () => {
    const { liveUrl, logError } = await startApi({
      jwks: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const res = await refusal(liveUrl, bearer(aliceToken));
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('idp_unavailable');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(logError).toHaveBeenCalledOnce();
  });

  it('refuses other paths with 404, before looking at the token', async () => {
    const { origin } = await startApi();
    const res = await refusal(`${origin.replace('http:', 'ws:')}/items`, bearer(aliceToken));
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });

  it('refuses an upgrade to anything but WebSocket with 400', async () => {
    const { origin } = await startApi();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${origin}/live`, {
        headers: { ...bearer(aliceToken), connection: 'Upgrade', upgrade: 'h2c' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
  });
});

describe('/live: DPoP-bound tokens', () => {
  const boundToken = () => idp.signAccessToken({ cnf: { jkt: key.jkt } });

  it('accepts Authorization: DPoP with a proof for GET and the http URL of the handshake', async () => {
    const { origin, liveUrl } = await startApi();
    const token = await boundToken();
    const proof = await key.proof({ method: 'GET', url: `${origin}/live`, accessToken: token });
    const alice = await connect(liveUrl, dpop(token, proof));
    expect(await alice.message(0)).toEqual({ type: 'items', items: [] });
  });

  it.each([
    [
      'a proof for the ws: URL',
      (origin: string) => ({ method: 'GET', url: `${origin.replace('http:', 'ws:')}/live` }),
    ],
    ['a proof for another path', (origin: string) => ({ method: 'GET', url: `${origin}/items` })],
    ['a proof for another method', (origin: string) => ({ method: 'POST', url: `${origin}/live` })],
  ])('refuses %s: 401 invalid_dpop_proof with a DPoP challenge', async (_, target) => {
    const { origin, liveUrl } = await startApi();
    const token = await boundToken();
    const proof = await key.proof({ ...target(origin), accessToken: token });
    const res = await refusal(liveUrl, dpop(token, proof));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_dpop_proof');
    expect(res.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof", .*algs="/);
  });

  it('refuses a bound token sent as Bearer, and a replayed proof', async () => {
    const { origin, liveUrl } = await startApi();
    const token = await boundToken();
    const asBearer = await refusal(liveUrl, bearer(token));
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);

    const proof = await key.proof({ method: 'GET', url: `${origin}/live`, accessToken: token });
    await connect(liveUrl, dpop(token, proof));
    const replayed = await refusal(liveUrl, dpop(token, proof));
    expect(replayed.status).toBe(401);
    expect(replayed.body.message).toBe('The DPoP proof was already used');
  });

  it('with server nonces: refuses a proof without one (use_dpop_nonce, DPoP-Nonce), accepts the retry', async () => {
    const { origin, liveUrl } = await startApi({ dpopNonce: true });
    const token = await boundToken();
    const first = await refusal(
      liveUrl,
      dpop(token, await key.proof({ method: 'GET', url: `${origin}/live`, accessToken: token })),
    );
    expect(first.status).toBe(401);
    expect(first.body.error).toBe('use_dpop_nonce');
    const nonce = first.headers['dpop-nonce'];
    expect(nonce).toEqual(expect.any(String));
    const proof = await key.proof(
      { method: 'GET', url: `${origin}/live`, accessToken: token },
      { claims: { nonce } },
    );
    const alice = await connect(liveUrl, dpop(token, proof));
    expect(alice.upgradeHeaders['dpop-nonce']).toBe(nonce);
    expect((await alice.message(0)).type).toBe('items');
  });
});

describe('/live: limits and endings', () => {
  it('closes with 1008 when the accepted token expires', async () => {
    const { liveUrl } = await startApi();
    const shortLived = await idp.signAccessToken({ exp: nowS() + 1 });
    const alice = await connect(liveUrl, bearer(shortLived));
    expect((await alice.message(0)).type).toBe('items');
    const started = Date.now();
    expect(await alice.closed).toEqual({ code: 1008, reason: 'access token expired' });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('never sends on a token already past exp (accepted within the clock tolerance)', async () => {
    const { liveUrl } = await startApi();
    const justExpired = await idp.signAccessToken({ exp: nowS() - 2 });
    const alice = await connect(liveUrl, bearer(justExpired));
    expect(await alice.closed).toEqual({ code: 1008, reason: 'access token expired' });
    expect(alice.messages).toEqual([]);
  });

  it("caps a user's sockets (close 1008), and frees the slot when one closes", async () => {
    const { origin, liveUrl } = await startApi({ store: createMemoryItemStore({ maxListenersPerOwner: 2 }) });
    const tab1 = await connect(liveUrl, bearer(aliceToken));
    await connect(liveUrl, bearer(aliceToken));
    const tab3 = await connect(liveUrl, bearer(aliceToken));
    expect(await tab3.closed).toEqual({ code: 1008, reason: 'too many connections' });
    expect(tab3.messages).toEqual([]);
    // Bob has his own allowance.
    expect((await (await connect(liveUrl, bearer(bobToken))).message(0)).type).toBe('items');

    tab1.ws.close();
    await tab1.closed;
    await vi.waitFor(async () => {
      const again = await connect(liveUrl, bearer(aliceToken));
      expect((await again.message(0)).type).toBe('items');
    });
    // The closed socket's listener is gone: a change reaches the open ones without error.
    await postItem(origin, bearer(aliceToken), 'x');
  });

  it('refuses handshakes past maxLiveConnections with 503', async () => {
    const { liveUrl } = await startApi({ maxLiveConnections: 1 });
    await connect(liveUrl, bearer(aliceToken));
    const res = await refusal(liveUrl, bearer(bobToken));
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('service_unavailable');
  });

  it('close() ends every socket with 1001 and refuses new handshakes', async () => {
    const { api, liveUrl } = await startApi();
    const alice = await connect(liveUrl, bearer(aliceToken));
    const bob = await connect(liveUrl, bearer(bobToken));
    api.close();
    expect((await alice.closed).code).toBe(1001);
    expect((await bob.closed).code).toBe(1001);
    expect((await refusal(liveUrl, bearer(aliceToken))).status).toBe(503);
  });
});
