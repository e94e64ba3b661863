/**
 * Request framing on the `/api` hop, as a differential check: raw client bytes go through the
 * BFF to an upstream that keeps the exact bytes of every connection (`testing/raw-upstream.ts`).
 * For every method the BFF forwards and every way of framing (or not framing) a body, the
 * upstream must see exactly one request per client request, with the same method and body
 * bytes, and nothing else on any connection: a body never becomes the next request on a pooled
 * keep-alive connection, where it would run with another user's token.
 *
 * @see RFC 9112 §6 (message body), §9.3 (persistence), §11.2 (request smuggling)
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../testing/gateway.ts';
import { CookieJar } from '../testing/harness.ts';
import { type RawUpstream, type SeenRequest, startRawUpstream } from '../testing/raw-upstream.ts';
import { type RedisServer, startRedisServer } from '../testing/redis-server.ts';
import { MAX_IN_FLIGHT_PER_SESSION } from './api-proxy.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

/** A body whose bytes are themselves a whole request: what a smuggler would send. */
const SMUGGLED =
  'GET /smuggled HTTP/1.1\r\nhost: upstream\r\nx-request-id: smuggled\r\nx-forwarded-user: admin\r\n\r\n';

interface BodyCase {
  readonly name: string;
  /** The body the upstream must see. */
  readonly body: string;
  /** Framing fields and the bytes after the header section. */
  readonly frame: (body: string) => { fields: string[]; bytes: string };
  /** Send the header section, wait for `100 Continue`, then the body. */
  readonly expectContinue?: boolean;
}

const chunked = (body: string, trailer = '') => {
  const half = Math.ceil(body.length / 2);
  const parts = [body.slice(0, half), body.slice(half)].filter((p) => p.length > 0);
  return `${parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('')}0\r\n${trailer}\r\n`;
};

const BODY_CASES: readonly BodyCase[] = [
  { name: 'no body', body: '', frame: () => ({ fields: [], bytes: '' }) },
  {
    name: 'Content-Length',
    body: '{"a":1}',
    frame: (b) => ({ fields: [`content-length: ${Buffer.byteLength(b)}`], bytes: b }),
  },
  { name: 'Content-Length: 0', body: '', frame: () => ({ fields: ['content-length: 0'], bytes: '' }) },
  {
    name: 'chunked',
    body: 'hello, upstream',
    frame: (b) => ({ fields: ['transfer-encoding: chunked'], bytes: chunked(b) }),
  },
  {
    name: 'chunked with trailers',
    body: 'trailing',
    frame: (b) => ({
      fields: ['transfer-encoding: chunked', 'trailer: x-checksum'],
      bytes: chunked(b, 'x-checksum: 42\r\n'),
    }),
  },
  {
    name: 'chunked, a whole request as body',
    body: SMUGGLED,
    frame: (b) => ({ fields: ['transfer-encoding: chunked'], bytes: chunked(b) }),
  },
  {
    name: 'Content-Length, a whole request as body',
    body: SMUGGLED,
    frame: (b) => ({ fields: [`content-length: ${Buffer.byteLength(b)}`], bytes: b }),
  },
  {
    name: 'Expect: 100-continue',
    body: 'after continue',
    expectContinue: true,
    frame: (b) => ({ fields: [`content-length: ${Buffer.byteLength(b)}`, 'expect: 100-continue'], bytes: b }),
  },
];

let g: Gateway;
let upstream: RawUpstream;
let counter = 0;

beforeAll(async () => {
  g = await startGateway();
  upstream = await startRawUpstream();
});
afterAll(async () => {
  await upstream?.close();
  await g?.close();
});

/** The raw bytes of one client request (its header section, and its body as framed). */
function requestBytes(
  jar: CookieJar,
  method: Method,
  id: string,
  bodyCase: BodyCase,
  close: boolean,
): { head: string; body: string } {
  const { host } = new URL(g.h.origin);
  const { fields, bytes } = bodyCase.frame(bodyCase.body);
  const head = [
    `${method} /api/items/${id} HTTP/1.1`,
    `host: ${host}`,
    `cookie: ${jar.header(g.h.origin)}`,
    'x-csrf: 1',
    `x-request-id: ${id}`,
    ...fields,
    ...(close ? ['connection: close'] : []),
  ].join('\r\n');
  return { head: `${head}\r\n\r\n`, body: bytes };
}

/** Sends raw bytes on one connection and resolves with everything the BFF answered until it closed. */
function exchange(
  writes: readonly { head: string; body: string; waitForContinue?: boolean }[],
  abortAfterBytes?: number,
): Promise<string> {
  const { hostname, port } = new URL(g.h.origin);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    let answer = '';
    let continued: (() => void) | undefined;
    socket.on('data', (data) => {
      answer += data.toString('latin1');
      if (continued && answer.includes('100 Continue')) {
        continued();
        continued = undefined;
      }
    });
    socket.on('error', (error) => (abortAfterBytes === undefined ? reject(error) : resolve(answer)));
    socket.on('close', () => resolve(answer));
    socket.on('connect', async () => {
      for (const w of writes) {
        if (abortAfterBytes !== undefined) {
          socket.write(w.head + w.body.slice(0, abortAfterBytes));
          // Let the BFF start forwarding, then vanish mid-body.
          setTimeout(() => socket.destroy(), 100);
          return;
        }
        if (w.waitForContinue) {
          await new Promise<void>((go) => {
            continued = go;
            socket.write(w.head);
          });
          socket.write(w.body);
        } else socket.write(w.head + w.body);
      }
    });
  });
}

/** Status codes of the final answers in a raw response stream (interim 1xx left out). */
const finalStatuses = (answer: string) =>
  [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])).filter((s) => s >= 200);

const seenWithId = (id: string): SeenRequest[] =>
  upstream.requests().filter((r) => r.headers['x-request-id'] === id);

/** Nothing but whole requests on any upstream connection, and none that the BFF did not send. */
function expectCleanUpstream(): void {
  for (const c of upstream.connections) {
    expect(c.garbage.toString('latin1')).toBe('');
    for (const r of c.requests) expect(r.headers['x-request-id']).toMatch(/^f\d+-/);
  }
  expect(upstream.requests().some((r) => r.target.includes('smuggled'))).toBe(false);
}

function expectForwardedOnce(id: string, method: Method, body: string): void {
  const seen = seenWithId(id);
  expect(seen).toHaveLength(1);
  const [request] = seen as [SeenRequest];
  expect(request.method).toBe(method);
  expect(request.body.toString('latin1')).toBe(body);
  // A request without a body has no framing field at all, or an explicit zero length.
  if (body === '') expect(request.framing === 'none' || request.headers['content-length'] === '0').toBe(true);
}

const nextId = (label: string) => `f${++counter}-${label.replace(/[^\w]+/g, '-')}`;

describe.each([
  ['bearer', {}],
  ['dpop', { API_TOKEN_TYPE: 'dpop' }],
] as const)('request framing through /api (%s tokens)', (_, env) => {
  let jar: CookieJar;
  beforeAll(async () => {
    ({ jar } = await g.signedIn({ API_UPSTREAM_URL: upstream.origin, ...env }));
  });

  const table = METHODS.flatMap((method) =>
    BODY_CASES.map((bodyCase) => [method, bodyCase.name, bodyCase] as const),
  );

  it.each(table)(
    '%s with %s: exactly one upstream request with the same body',
    async (method, name, bodyCase) => {
      // Twice on one client connection, so the BFF reuses its pooled upstream connection and any
      // stray byte of the first would be read as (the start of) the second.
      const first = nextId(`${method}-${name}`);
      const second = nextId(`${method}-${name}-next`);
      const answer = await exchange([
        { ...requestBytes(jar, method, first, bodyCase, false), waitForContinue: !!bodyCase.expectContinue },
        requestBytes(jar, method, second, BODY_CASES[0] as BodyCase, true),
      ]);
      expect(finalStatuses(answer)).toEqual([200, 200]);
      expectForwardedOnce(first, method, bodyCase.body);
      expectForwardedOnce(second, method, '');
      expectCleanUpstream();
    },
  );

  it('pipelined requests on one client connection: one upstream request each, in order, bodies intact', async () => {
    const ids = METHODS.map((method) => nextId(`pipelined-${method}`));
    const bodies = [BODY_CASES[3], BODY_CASES[1], BODY_CASES[5], BODY_CASES[0]] as BodyCase[];
    const requests = METHODS.map((method, i) => {
      const bodyCase = bodies[i % bodies.length] as BodyCase;
      return {
        method,
        bodyCase,
        ...requestBytes(jar, method, ids[i] as string, bodyCase, i === METHODS.length - 1),
      };
    });
    // All in one write: the BFF's parser sees them back to back.
    const answer = await exchange([{ head: requests.map((r) => r.head + r.body).join(''), body: '' }]);
    expect(finalStatuses(answer)).toEqual(METHODS.map(() => 200));
    for (const [i, r] of requests.entries()) expectForwardedOnce(ids[i] as string, r.method, r.bodyCase.body);
    expectCleanUpstream();
  });

  it.each([
    ['Content-Length', BODY_CASES[1] as BodyCase],
    ['chunked', BODY_CASES[3] as BodyCase],
  ])(
    'a client that closes mid-body (%s): no complete request upstream, and the next request is clean',
    async (_, bodyCase) => {
      const id = nextId('aborted');
      const big = { ...bodyCase, body: 'x'.repeat(100_000) };
      await exchange([requestBytes(jar, 'POST', id, big, false)], 5_000);
      // The torn-down upstream request is never completed, on its own connection or any other.
      await expect
        .poll(() => upstream.connections.every((c) => c.closed || c.incomplete.length === 0))
        .toBe(true);
      expect(seenWithId(id)).toEqual([]);
      const after = nextId('after-abort');
      const answer = await exchange([requestBytes(jar, 'GET', after, BODY_CASES[0] as BodyCase, true)]);
      expect(finalStatuses(answer)).toEqual([200]);
      expectForwardedOnce(after, 'GET', '');
      expectCleanUpstream();
    },
  );

  it.each([['Transfer-Encoding: gzip, chunked', ['transfer-encoding: gzip, chunked']]])(
    'refuses %s with 400 bad_request; nothing forwarded',
    async (_, fields) => {
      const id = nextId('refused');
      const bodyCase: BodyCase = { name: 'odd', body: 'x', frame: () => ({ fields, bytes: chunked('x') }) };
      const answer = await exchange([requestBytes(jar, 'POST', id, bodyCase, true)]);
      expect(finalStatuses(answer)).toEqual([400]);
      expect(seenWithId(id)).toEqual([]);
    },
  );
});

describe('an upstream that answers before the request body is complete', () => {
  let jar: CookieJar;
  beforeAll(async () => {
    ({ jar } = await g.signedIn({ API_UPSTREAM_URL: upstream.origin }));
  });

  it.each([
    ['the client goes away after the answer', true],
    ['the client stays, its body unfinished', false],
  ])('%s: the upstream connection is released, never left waiting for the rest', async (_, leave) => {
    const before = upstream.connections.length;
    const ids = Array.from({ length: 5 }, () => nextId('early'));
    await Promise.all(
      ids.map(async (id) => {
        const { hostname, port } = new URL(g.h.origin);
        const socket = net.connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
        const { head } = requestBytes(jar, 'POST', `${id}/early`, BODY_CASES[0] as BodyCase, false);
        socket.write(`${head.replace('\r\n\r\n', '\r\ncontent-length: 100\r\n\r\n')}only ten b`);
        const answer = await new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (d) => {
            text += d;
            if (/\r\n\r\nok$/.test(text)) resolve(text);
          });
        });
        expect(finalStatuses(answer)).toEqual([200]);
        if (leave) socket.destroy();
        else setTimeout(() => socket.destroy(), 3_000).unref();
      }),
    );
    const used = upstream.connections.slice(before);
    expect(used.length).toBeGreaterThan(0);
    // Every connection that carried a half-sent request is closed by the BFF, not kept in its pool.
    await expect
      .poll(() => used.filter((c) => c.incomplete.length > 0 && !c.closed).length, { timeout: 2_000 })
      .toBe(0);
    // None of them became a whole request upstream.
    for (const id of ids) expect(upstream.requests().some((r) => r.target.includes(id))).toBe(false);
  });
});

describe('upstream requests in flight per session', () => {
  it.each([
    ['a session', 'user'],
    ['an address without a session, on a route with no token,', 'none'],
  ])(
    `%s holds at most ${MAX_IN_FLIGHT_PER_SESSION} at once: more get 429 rate_limited, nothing forwarded; ending them frees the room`,
    async (_, token) => {
      const routes = JSON.stringify([
        {
          name: 'items',
          prefix: '/api/items',
          upstream: `${upstream.origin}/items`,
          token,
          timeoutMs: 60_000,
        },
      ]);
      const signedIn = await g.signedIn({ API_ROUTES: routes });
      // Without a session, the requests carry no cookie.
      const jar = token === 'none' ? new CookieJar() : signedIn.jar;
      const { hostname, port } = new URL(g.h.origin);
      const extra = 8;
      const ids = Array.from({ length: MAX_IN_FLIGHT_PER_SESSION + extra }, () => nextId('held'));
      const sockets = ids.map(() =>
        net.connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname),
      );
      const answers = ids.map((id, i) => {
        const socket = sockets[i] as net.Socket;
        const { head } = requestBytes(jar, 'GET', id, BODY_CASES[0] as BodyCase, false);
        socket.write(head.replace(`/api/items/${id} `, `/api/items/${id}/hold `));
        let text = '';
        socket.on('data', (d) => {
          text += d;
        });
        return () => text;
      });
      // The upstream never answers these: the ones forwarded stay in flight; the rest are refused.
      await expect
        .poll(() => answers.filter((text) => finalStatuses(text()).length > 0).length, { timeout: 15_000 })
        .toBe(extra);
      const forwarded = ids.filter((id) => seenWithId(id).length > 0);
      expect(forwarded).toHaveLength(MAX_IN_FLIGHT_PER_SESSION);
      for (const [i, id] of ids.entries()) {
        const text = (answers[i] as () => string)();
        if (forwarded.includes(id)) expect(text).toBe('');
        else {
          expect(finalStatuses(text)).toEqual([429]);
          expect(text).toContain('"error":"rate_limited"');
          expect(text.toLowerCase()).toContain('retry-after: 1');
        }
      }
      for (const socket of sockets) socket.destroy();
      // Every held request ended with its client: the session may send again, and a full room's
      // worth of requests is forwarded again (no count was left behind).
      const after = nextId('after-held');
      await expect
        .poll(async () =>
          finalStatuses(await exchange([requestBytes(jar, 'GET', after, BODY_CASES[0] as BodyCase, true)])),
        )
        .toEqual([200]);
    },
    60_000,
  );
});

describe('the in-flight count when clients leave while admission waits for the store', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('is not left behind: after 200 clients that vanished mid-admission, the session still gets its whole room', async () => {
    const { jar } = await g.signedIn({
      API_UPSTREAM_URL: upstream.origin,
      API_UPSTREAM_TIMEOUT_MS: '60000',
      SESSION_STORE: 'redis',
      REDIS_URL: redis.url,
    });
    const { hostname, port } = new URL(g.h.origin);
    const connect = () => net.connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const socket = connect();
        const { head } = requestBytes(jar, 'GET', nextId(`gone-${i}`), BODY_CASES[0] as BodyCase, false);
        return new Promise<void>((resolve) => {
          socket.on('connect', () => {
            socket.write(head);
            // Gone before the store has answered the admission's read.
            setImmediate(() => {
              socket.destroy();
              resolve();
            });
          });
          socket.on('error', () => resolve());
        });
      }),
    );
    const ids = Array.from({ length: MAX_IN_FLIGHT_PER_SESSION }, () => nextId('room'));
    const sockets = ids.map((id) => {
      const socket = connect();
      const { head } = requestBytes(jar, 'GET', id, BODY_CASES[0] as BodyCase, false);
      socket.write(head.replace(`/api/items/${id} `, `/api/items/${id}/hold `));
      return socket;
    });
    await expect
      .poll(() => ids.filter((id) => seenWithId(id).length > 0).length, { timeout: 15_000 })
      .toBe(ids.length);
    for (const socket of sockets) socket.destroy();
  }, 60_000);
});
