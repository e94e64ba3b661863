/**
 * The whole product on loopback, in this process, as `pnpm start` would run it: the SPA built with
 * Vite into a temporary directory, the embedded IdP, the sample API (HTTP and its `/live`
 * WebSocket) and the BFF in production mode serving that build, with the `pnpm dev` route table
 * (`DEV_API_ROUTES`) pointed at this API. Test-only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { createApi } from '@okta-bff/api';
import { createBffListener, createLogger, discoverIdp, startIdpLoader } from '@okta-bff/bff';
import { createDevClientFor, type DevIdp, startDevIdp } from '@okta-bff/dev-idp';
import { type BffConfig, DEV_API_ROUTES, DEV_IDP, loadBffConfig } from '@okta-bff/oidc';
import { build } from 'vite';

/** Only for this run's cookies; never a real secret. */
const E2E_SESSION_SECRET = 'e2e-session-secret-0123456789abcdefghij';

const WEB_VITE_CONFIG = fileURLToPath(new URL('../../apps/web/vite.config.ts', import.meta.url));

/** Options of {@link startStack}; every one has a default. */
export interface StackOptions {
  /**
   * Extra BFF environment (e.g. `OKTA_RESPONSE_MODE: 'form_post'`), applied over the stack's own
   * variables, as `pnpm start` would read them.
   */
  readonly bffEnv?: Readonly<Record<string, string>>;
  /**
   * Host name of the IdP's issuer. The default `localhost` is the same site as the BFF (ports do
   * not count for SameSite); `127.0.0.1` makes the IdP a different site, so its redirects and
   * form posts back to the BFF are cross-site, as with a real Okta domain.
   */
  readonly idpPublicHost?: 'localhost' | '127.0.0.1';
}

/** A running stack. */
export interface Stack {
  /** `http://localhost:<port>`: the only origin the SPA talks to. */
  readonly bffOrigin: string;
  readonly idp: DevIdp;
  readonly config: BffConfig;
  /**
   * Makes the sample API drop every connection (the BFF then sees it as unreachable) until
   * called again with `true`.
   */
  setApiReachable(reachable: boolean): void;
  close(): Promise<void>;
}

/** Listens on a free loopback port and resolves with it. */
function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Every socket the server accepted, upgraded ones included (`closeAllConnections` skips those). */
function trackSockets(server: http.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

function closeServer(server: http.Server, sockets: Set<Socket>): Promise<void> {
  const closed = new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  server.closeAllConnections();
  for (const socket of sockets) socket.destroy();
  return closed;
}

/**
 * `DEV_API_ROUTES` (what `pnpm dev` routes: items, live, public, stats) with the sample API's
 * `http://localhost:8001` replaced by `apiOrigin`.
 */
export function devRoutesFor(apiOrigin: string): string {
  const routes = JSON.parse(DEV_API_ROUTES) as { upstream: string }[];
  return JSON.stringify(
    routes.map((route) => {
      const upstream = new URL(route.upstream);
      return { ...route, upstream: `${apiOrigin}${upstream.pathname}` };
    }),
  );
}

/**
 * Builds the SPA and starts IdP, API and BFF. The BFF's port is reserved first (its listener is
 * installed last), because the IdP's client registration needs the callback URL up front; the
 * same pattern as `apps/bff/src/testing/harness.ts`.
 */
export async function startStack({
  bffEnv = {},
  idpPublicHost = 'localhost',
}: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    // Reverse order of start; keep going on failure so nothing is left listening.
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'stack teardown failed');
  };

  try {
    const spaRoot = await mkdtemp(join(tmpdir(), 'okta-bff-e2e-web-'));
    cleanups.push(() => rm(spaRoot, { recursive: true, force: true }));
    await build({
      configFile: WEB_VITE_CONFIG,
      build: { outDir: spaRoot, emptyOutDir: true },
      logLevel: 'warn',
    });

    let bffListener: http.RequestListener = (_req, res) => res.writeHead(503).end();
    let bffUpgrade = (_req: http.IncomingMessage, socket: Duplex, _head: Buffer): void => {
      socket.destroy();
    };
    const bffServer = http.createServer((req, res) => bffListener(req, res));
    // As `createBffServer` does: the `/api` WebSockets come as `upgrade` events.
    bffServer.on('upgrade', (req, socket, head) => bffUpgrade(req, socket, head));
    const bffSockets = trackSockets(bffServer);
    const bffOrigin = `http://localhost:${await listen(bffServer)}`;
    cleanups.push(() => closeServer(bffServer, bffSockets));

    const idp = await startDevIdp({
      port: 0,
      publicHost: idpPublicHost,
      clients: [createDevClientFor(bffOrigin)],
    });
    cleanups.push(() => idp.close());

    let apiReachable = true;
    const api = createApi({ issuer: idp.issuer, audience: DEV_IDP.audience });
    const apiListener = getRequestListener(api.app.fetch);
    const apiServer = http.createServer((req, res) => {
      if (apiReachable) void apiListener(req, res);
      else req.socket.destroy();
    });
    apiServer.on('upgrade', (req, socket, head) => {
      if (apiReachable) api.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
    const apiSockets = trackSockets(apiServer);
    const apiOrigin = `http://127.0.0.1:${await listen(apiServer)}`;
    cleanups.push(() => closeServer(apiServer, apiSockets));
    cleanups.push(() => api.close());

    const config = loadBffConfig({
      OKTA_ISSUER: idp.issuer,
      CLIENT_ID: DEV_IDP.clientId,
      CLIENT_SECRET: DEV_IDP.clientSecret,
      REDIRECT_URL: `${bffOrigin}/authorization-code/callback`,
      SESSION_SECRET: E2E_SESSION_SECRET,
      // The route table alone: API_UPSTREAM_URL beside it is a configuration error.
      API_ROUTES: devRoutesFor(apiOrigin),
      LOG_LEVEL: 'warn',
      ...bffEnv,
    });
    if (config.mode !== 'production')
      throw new TypeError('the e2e stack must run the BFF in production mode');
    const loader = startIdpLoader(() => discoverIdp(config));
    cleanups.push(() => loader.stop());
    await loader.ready;
    const listener = createBffListener({ config, idp: loader, logger: createLogger('warn'), spaRoot });
    cleanups.push(() => listener.close());
    bffListener = listener;
    bffUpgrade = (req, socket, head) => listener.upgrade(req, socket, head);

    return {
      bffOrigin,
      idp,
      config,
      setApiReachable: (reachable) => {
        apiReachable = reachable;
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {
      // The start-up error is the one worth reporting; teardown problems would only hide it.
    });
    throw error;
  }
}
