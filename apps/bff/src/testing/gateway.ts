/**
 * The `/api` gateway's integration-test bed: the harness (embedded IdP + BFF over real HTTP), a
 * recording upstream, a raw `node:http` client and helpers to read and rewrite a jar's session as
 * only the BFF could. Test-only; never imported by the product.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { serializeCookie } from '../http/cookie-header.ts';
import { sessionCodecFor } from '../services.ts';
import type { Session } from '../session/model/session.ts';
import { connectRedis } from '../session/redis/redis-client.ts';
import { createRedisStore } from '../session/redis/redis-store.ts';
import {
  COOKIE_PURPOSE,
  chunkNamesPresent,
  readChunkedCookie,
  writeChunkedCookie,
} from '../session/store/cookies.ts';
import { type Bff, CookieJar, createHarness, type Harness, signIn, TEST_SESSION_SECRET } from './harness.ts';
import { type RecordingUpstream, startRecordingUpstream } from './recording-upstream.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

export const SESSION_COOKIE = 'bff_session';
export const API_HEADERS = { 'x-csrf': '1' } as const;

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as text (only its first 64 KiB are kept). */
  readonly text: string;
  /** Every body byte, counted as it streamed. */
  readonly bytes: number;
}

export interface RawOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: Readable | string;
}

export interface Gateway {
  readonly h: Harness;
  readonly rec: RecordingUpstream;
  /**
   * A request sent with `node:http`, byte for byte as given: fetch would normalize `..` in the
   * path and refuse hop-by-hop headers. The body is counted as it arrives, never buffered whole.
   */
  raw(path: string, options?: RawOptions): Promise<RawResponse>;
  /** Everything `/api` calls need from a signed-in browser. */
  apiHeaders(jar: CookieJar, extra?: OutgoingHttpHeaders): OutgoingHttpHeaders;
  /** The jar's session, opened as only the BFF could. */
  sessionIn(jar: CookieJar): Promise<Session>;
  /** Reseals `session` into the jar, as if the BFF had set it. */
  putSession(jar: CookieJar, session: Session): Promise<void>;
  /** Moves the jar's access-token expiry to `secondsFromNow` (negative: already expired). */
  expireAccessToken(jar: CookieJar, secondsFromNow?: number): Promise<Session>;
  /** A freshly configured BFF (the recording upstream unless `env` says otherwise) and a browser signed in to it. */
  signedIn(
    env?: Record<string, string>,
    login?: Parameters<typeof signIn>[2],
  ): Promise<{ bff: Bff; jar: CookieJar }>;
  close(): Promise<void>;
}

export async function startGateway(...harness: Parameters<typeof createHarness>): Promise<Gateway> {
  const h = await createHarness(...harness);
  const rec = await startRecordingUpstream();
  const codec = sessionCodecFor([TEST_SESSION_SECRET]);

  const sessionIn = async (jar: CookieJar): Promise<Session> => {
    const cookies = Object.fromEntries(jar.names().map((name) => [name, jar.get(name) ?? '']));
    const sealed = readChunkedCookie(cookies, SESSION_COOKIE);
    const session = sealed ? await codec.unsealSession(sealed) : undefined;
    if (!session) throw new Error('no session in the jar');
    return session;
  };
  const putSession = async (jar: CookieJar, session: Session): Promise<void> => {
    const cookies = Object.fromEntries(jar.names().map((name) => [name, '']));
    const toSet = writeChunkedCookie(
      SESSION_COOKIE,
      await codec.sealSession(session),
      { maxAgeS: 3600, sameSite: 'Lax', secure: false },
      chunkNamesPresent(cookies, SESSION_COOKIE),
    );
    jar.store(
      h.origin,
      new Response(null, { headers: toSet.map((c) => ['set-cookie', serializeCookie(c)]) }),
    );
  };

  return {
    h,
    rec,
    raw: (path, options) => rawRequest(h.origin, path, options),
    apiHeaders: (jar, extra = {}) => ({ ...API_HEADERS, cookie: jar.header(h.origin), ...extra }),
    sessionIn,
    putSession,
    async expireAccessToken(jar, secondsFromNow = -10) {
      const session = await sessionIn(jar);
      const changed = { ...session, accessTokenExpiresAt: Math.floor(Date.now() / 1000) + secondsFromNow };
      await putSession(jar, changed);
      return changed;
    },
    async signedIn(env = {}, login = {}) {
      // `API_ROUTES` replaces `API_UPSTREAM_URL` (both at once is a configuration error).
      const upstream = env.API_ROUTES === undefined ? { API_UPSTREAM_URL: rec.origin } : {};
      const bff = await h.startBff({ ...upstream, ...env });
      const jar = new CookieJar();
      await signIn(bff, jar, login);
      return { bff, jar };
    },
    async close() {
      await rec.close();
      await h.close();
    },
  };
}

export function rawRequest(
  origin: string,
  path: string,
  { method = 'GET', headers = {}, body }: RawOptions = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    // Node frames a DELETE/OPTIONS body only when told its length.
    const framing = typeof body === 'string' ? { 'content-length': Buffer.byteLength(body) } : {};
    const options = { host: hostname, port, method, path, headers: { ...framing, ...headers }, agent: false };
    const req = http.request(options, (res) => {
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keptBytes < 64 * 1024) {
          kept.push(chunk);
          keptBytes += chunk.length;
        }
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(kept).toString('utf8'),
          bytes,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (typeof body === 'string') req.end(body);
    else if (body) body.pipe(req);
    else req.end();
  });
}

/** The status and the `{ error }` code of a JSON error answer. */
export function errorOf(res: RawResponse): { status: number; error: unknown } {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return { status: res.status, error: (JSON.parse(res.text) as { error: unknown }).error };
}

/** The session cookies (and chunks) a response sets. */
export const sessionCookiesSet = (res: { headers: IncomingHttpHeaders }) =>
  (res.headers['set-cookie'] ?? []).filter((c) => /^bff_session(\.\d+)?=/.test(c));

/** True when a response deletes every session cookie it sets, and sets at least one. */
export const clearsSession = (res: { headers: IncomingHttpHeaders }) =>
  sessionCookiesSet(res).length > 0 && sessionCookiesSet(res).every((c) => /^[^=]+=;.*Max-Age=0/.test(c));

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A plain node-redis client, to read and tamper with what the BFF wrote. */
export type RawRedisClient = ReturnType<typeof createClient>;

export interface RedisGateway {
  readonly g: Gateway;
  readonly redis: RedisServer;
  readonly raw: RawRedisClient;
  /** The environment of a BFF on this Redis, forwarding to the recording upstream. */
  redisEnv(env?: Record<string, string>): Record<string, string>;
  /** The store as the BFF builds it (`secrets` as `SESSION_SECRET` lists them), to open a jar's session. */
  storeFor(secrets?: readonly string[]): RedisStoreLook;
  /** The jar's session, opened from Redis as only the BFF could. */
  sessionOf(jar: CookieJar, secrets?: readonly string[]): Promise<Session>;
}

export interface RedisStoreLook {
  readonly store: ReturnType<typeof createRedisStore>;
  session(jar: CookieJar): Promise<Session>;
  close(): Promise<void>;
}

/**
 * For one test file: the gateway, a Redis server of its own and a raw client to it, started once,
 * Redis emptied before each test (each counts what is in it) and the recording upstream's list
 * after it, all closed at the end. Registers the vitest hooks itself, so call it at the top of
 * the file and read the fields inside tests, not at load time.
 */
export function useRedisGateway(): RedisGateway {
  const bed = {} as { g: Gateway; redis: RedisServer; raw: RawRedisClient };
  beforeAll(async () => {
    [bed.g, bed.redis] = await Promise.all([startGateway(), startRedisServer()]);
    bed.raw = createClient({ url: bed.redis.url });
    await bed.raw.connect();
  });
  beforeEach(async () => {
    await bed.raw.flushAll();
  });
  afterEach(() => {
    bed.g.rec.requests.length = 0;
  });
  afterAll(async () => {
    await bed.raw?.close();
    await bed.g?.close();
    await bed.redis?.close();
  });
  const storeFor = (secrets: readonly string[] = [TEST_SESSION_SECRET]): RedisStoreLook => {
    const store = createRedisStore({
      redis: connectRedis({ url: bed.redis.url, cluster: false, onError: () => {} }),
      codec: sessionCodecFor(secrets, COOKIE_PURPOSE.redisRecord),
      names: { session: SESSION_COOKIE, txnPrefix: 'bff_txn.', secure: false },
      secrets,
      idleTimeoutS: 7200,
      lockTtlMs: 5_000,
      refresh: async () => ({ ok: false, failure: 'refused', cause: 'unused' }),
    });
    return {
      store,
      async session(jar) {
        const opened = await store.read({ [SESSION_COOKIE]: jar.get(SESSION_COOKIE) ?? '' });
        if (!opened) throw new Error('no session in Redis for this jar');
        return opened.session;
      },
      close: () => store.close(),
    };
  };
  return {
    get g() {
      return bed.g;
    },
    get redis() {
      return bed.redis;
    },
    get raw() {
      return bed.raw;
    },
    redisEnv: (env = {}) => ({
      SESSION_STORE: 'redis',
      REDIS_URL: bed.redis.url,
      API_UPSTREAM_URL: bed.g.rec.origin,
      ...env,
    }),
    storeFor,
    async sessionOf(jar, secrets) {
      const look = storeFor(secrets);
      try {
        return await look.session(jar);
      } finally {
        await look.close();
      }
    },
  };
}
