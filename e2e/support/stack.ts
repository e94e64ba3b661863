/**
 * The whole product on loopback, in this process, as `pnpm start` would run it: the SPA built with
 * Vite into a temporary directory, the embedded IdP, the sample API and the BFF in production mode
 * serving that build. Test-only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { createApiApp } from '@okta-bff/api';
import { createBffListener, createLogger, discoverIdp, startIdpLoader } from '@okta-bff/bff';
import { createDevClientFor, type DevIdp, startDevIdp } from '@okta-bff/dev-idp';
import { type BffConfig, DEV_IDP, loadBffConfig } from '@okta-bff/oidc';
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

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
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
    const bffServer = http.createServer((req, res) => bffListener(req, res));
    const bffOrigin = `http://localhost:${await listen(bffServer)}`;
    cleanups.push(() => closeServer(bffServer));

    const idp = await startDevIdp({
      port: 0,
      publicHost: idpPublicHost,
      clients: [createDevClientFor(bffOrigin)],
    });
    cleanups.push(() => idp.close());

    let apiReachable = true;
    const apiListener = getRequestListener(
      createApiApp({ issuer: idp.issuer, audience: DEV_IDP.audience }).fetch,
    );
    const apiServer = http.createServer((req, res) => {
      if (apiReachable) void apiListener(req, res);
      else req.socket.destroy();
    });
    const apiOrigin = `http://127.0.0.1:${await listen(apiServer)}`;
    cleanups.push(() => closeServer(apiServer));

    const config = loadBffConfig({
      OKTA_ISSUER: idp.issuer,
      CLIENT_ID: DEV_IDP.clientId,
      CLIENT_SECRET: DEV_IDP.clientSecret,
      REDIRECT_URL: `${bffOrigin}/authorization-code/callback`,
      SESSION_SECRET: E2E_SESSION_SECRET,
      API_UPSTREAM_URL: apiOrigin,
      LOG_LEVEL: 'warn',
      ...bffEnv,
    });
    if (config.mode !== 'production')
      throw new TypeError('the e2e stack must run the BFF in production mode');
    const loader = startIdpLoader(() => discoverIdp(config));
    cleanups.push(() => loader.stop());
    await loader.ready;
    bffListener = createBffListener({ config, idp: loader, logger: createLogger('warn'), spaRoot });

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
