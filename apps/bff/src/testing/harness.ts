/**
 * Integration-test harness: the embedded IdP and the BFF on free loopback ports, over real HTTP,
 * with a cookie jar per "browser" and the BFF's log lines captured for leak checks.
 * Test-only; never imported by the product.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Duplex, Writable } from 'node:stream';
import {
  createDevClientFor,
  DEV_USERS,
  type DevIdp,
  type DevIdpOptions,
  startDevIdp,
} from '@okta-bff/dev-idp';
import { CookieJar, driveIdpLogin } from '@okta-bff/dev-idp/testing';
import { type BffConfig, DEV_IDP, type Env, loadBffConfig } from '@okta-bff/oidc';
import { createBffListener } from '../http-server.ts';
import { createLogger } from '../logger.ts';
import { discoverIdp, startIdpLoader } from '../oidc/idp.ts';
import { NO_METRICS } from '../ops/metrics.ts';
import { TRACING_OFF, type Tracing } from '../ops/tracing.ts';

export { CookieJar, DEV_USERS };

export const TEST_SESSION_SECRET = 'test-session-secret-0123456789abcdef';
/** Test-only routing header: which of several BFF instances answers (see {@link Harness.startBff}). */
export const INSTANCE_HEADER = 'x-test-instance';

export interface Bff {
  readonly origin: string;
  readonly config: BffConfig;
  readonly logs: string[];
  /** A request to the BFF with `jar`'s cookies, storing what it sets. Never follows redirects. */
  fetch(path: string, init?: RequestInit & { jar?: CookieJar }): Promise<Response>;
  /** Stops discovery and closes the instances' session stores (Redis connections). */
  stop(): Promise<void>;
}

/** An https public origin the IdP also accepts, for cookie-attribute tests (served over http here). */
export const HTTPS_ORIGIN = 'https://app.example.test';

export interface Harness {
  readonly idp: DevIdp;
  readonly origin: string;
  /**
   * Installs a fresh BFF (new config, caches and IdP discovery) on the harness's port. With
   * `instances: n`, n independent BFFs (each its own caches, refresh coordinator and store
   * client) share the port like instances behind a load balancer: requests go round-robin, or to
   * instance i when they carry `x-test-instance: i`.
   */
  /**
   * A BFF on the harness's origin. `nowMs` replaces its clock (sessions, logins, logout channels,
   * refresh back-off), so a test moves time on instead of sleeping; `tracing` traces it (its IdP
   * calls from discovery on).
   */
  startBff(
    env?: Env,
    options?: { waitForIdp?: boolean; instances?: number; nowMs?: () => number; tracing?: Tracing },
  ): Promise<Bff>;
  close(): Promise<void>;
}

/**
 * One loopback port for the BFF (so the IdP client can register its callback), the dev IdP on
 * another, and a way to swap in a freshly configured BFF per test.
 */
export async function createHarness(
  idpOptions: Omit<DevIdpOptions, 'port' | 'clients'> = {},
  /** More IdP clients, registered for the harness's origin (e.g. a `private_key_jwt` client). */
  extraClients: (origin: string) => DevIdpOptions['clients'] = () => [],
): Promise<Harness> {
  let listener: http.RequestListener = (_req, res) => res.writeHead(503).end();
  let upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void = (_req, socket) =>
    socket.destroy();
  const server = http.createServer((req, res) => listener(req, res));
  // WebSocket handshakes go to the instance's `/api` upgrade handler, as `createBffServer` does.
  server.on('upgrade', (req, socket, head) => upgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  const idp = await startDevIdp({
    ...idpOptions,
    port: 0,
    clients: [createDevClientFor(origin, HTTPS_ORIGIN), ...(extraClients(origin) ?? [])],
  });
  const stops: (() => void)[] = [];

  return {
    idp,
    origin,
    async startBff(env = {}, { waitForIdp = true, instances = 1, nowMs, tracing = TRACING_OFF } = {}) {
      const config = loadBffConfig(
        testEnv(idp.issuer, origin, env),
        // Tests ask for development mode as `pnpm dev`'s environment spells it; the product's
        // own entry points never read NODE_ENV (see `server.ts`).
        env.NODE_ENV === 'development' ? 'development' : 'production',
      );
      const { logs, logger } = capturingLogger(config.logLevel);
      const loader = startIdpLoader(() => discoverIdp(config, { tracing }), { initialDelayMs: 50 });
      if (waitForIdp) await loader.ready;
      const listeners = Array.from({ length: instances }, () =>
        createBffListener({
          config,
          idp: loader,
          logger,
          ops: { metrics: NO_METRICS, tracing },
          ...(nowMs ? { nowMs } : {}),
        }),
      );
      let next = 0;
      const pick = (req: http.IncomingMessage) => {
        const asked = Number(req.headers[INSTANCE_HEADER]);
        return listeners[Number.isInteger(asked) && asked < instances ? asked : next++ % instances]!;
      };
      listener = (req, res) => pick(req)(req, res);
      upgrade = (req, socket, head) => pick(req).upgrade(req, socket, head);
      const stop = async () => {
        loader.stop();
        await Promise.all(listeners.map((l) => l.close()));
      };
      stops.push(stop);
      return {
        origin,
        config,
        logs,
        fetch: jarFetch(origin),
        stop,
      };
    },
    async close() {
      await Promise.all(stops.map((stop) => stop()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idp.close();
    },
  };
}

/**
 * The environment of a test BFF on `origin` against the IdP at `issuer`, with `env` on top.
 * Tests sign in from one address far more often than a person: the per-address limit is off
 * unless a test sets it (the rate-limit tests do).
 */
export function testEnv(issuer: string, origin: string, env: Env = {}): Env {
  return {
    OKTA_ISSUER: issuer,
    CLIENT_ID: DEV_IDP.clientId,
    CLIENT_SECRET: DEV_IDP.clientSecret,
    REDIRECT_URL: `${origin}/authorization-code/callback`,
    SESSION_SECRET: TEST_SESSION_SECRET,
    LOG_LEVEL: 'debug',
    RATE_LIMIT_LOGIN_PER_MIN: '0',
    ...env,
  };
}

/** A logger at `level` whose lines are kept in `logs`, for leak checks and log assertions. */
export function capturingLogger(level: string): { logs: string[]; logger: ReturnType<typeof createLogger> } {
  const logs: string[] = [];
  const logger = createLogger(
    level,
    new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  return { logs, logger };
}

/** `Bff.fetch` for `origin`: `jar`'s cookies sent, what the answer sets stored, redirects not followed. */
export function jarFetch(origin: string): Bff['fetch'] {
  return async (path, { jar, headers, ...init } = {}) => {
    const url = new URL(path, origin);
    const h = new Headers(headers);
    const cookie = jar?.header(url);
    if (cookie) h.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers: h, redirect: 'manual' });
    jar?.store(url, response);
    return response;
  };
}

export interface LoginOutcome {
  /** The authorization request the BFF redirected to. */
  readonly authorizeUrl: URL;
  /** The BFF's answer to the callback. */
  readonly callback: Response;
}

/** A full sign-in through the BFF as `user`, like a browser would do it. */
export async function signIn(
  bff: Bff,
  jar: CookieJar,
  {
    user = DEV_USERS[0],
    returnTo,
    idpJar = new CookieJar(),
  }: { user?: (typeof DEV_USERS)[number]; returnTo?: string; idpJar?: CookieJar } = {},
): Promise<LoginOutcome> {
  const login = await bff.fetch(
    `/auth/login${returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`}`,
    { jar },
  );
  const location = login.headers.get('location');
  if (login.status !== 302 || !location) throw new Error(`login answered ${login.status}`);
  const authorizeUrl = new URL(location);
  const request = await driveIdpLogin({
    authorizeUrl,
    username: user!.login,
    password: user!.password,
    jar: idpJar,
  });
  const callback = await sendCallback(bff, jar, request);
  return { authorizeUrl, callback };
}

/** Sends the callback request the IdP handed to the browser, to the BFF. */
export async function sendCallback(
  bff: Bff,
  jar: CookieJar,
  request: { method: 'GET'; url: string } | { method: 'POST'; url: string; body: URLSearchParams },
): Promise<Response> {
  const url = new URL(request.url);
  const path = `${url.pathname}${url.search}`;
  return request.method === 'GET'
    ? bff.fetch(path, { jar })
    : bff.fetch(path, {
        jar,
        method: 'POST',
        body: request.body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
}
