/**
 * The sample API as a program: load configuration (refusing to start on any problem), build the
 * app, listen on `API_PORT` (HTTP, and WebSocket handshakes to `/live` on the same port), and
 * close cleanly on SIGINT/SIGTERM.
 */
import { serve } from '@hono/node-server';
import { ConfigError } from '@okta-bff/oidc';
import { createApi } from './app.ts';
import { type ApiConfig, loadApiConfig, loadDotEnv } from './config.ts';

/** How long in-flight requests get to finish after a shutdown signal. */
const SHUTDOWN_GRACE_MS = 10_000;

function loadConfigOrExit(): ApiConfig {
  try {
    loadDotEnv();
    return loadApiConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // One line per problem, all at once, so a bad .env is fixed in one pass.
    for (const { variable, reason } of err.problems) console.error(`config: ${variable} ${reason}`);
    process.exit(1);
  }
}

const config = loadConfigOrExit();
const api = createApi({
  issuer: config.issuer,
  audience: config.audience,
  publicUrl: config.publicUrl,
  dpopNonce: config.dpopNonce,
});

const server = serve({ fetch: api.app.fetch, port: config.port }, (info) => {
  console.log(
    `api: listening on http://localhost:${info.port} (${config.mode}), accepting tokens from ${config.issuer} for ${config.audience}`,
  );
  console.log(
    `api: DPoP proofs checked against ${config.publicUrl ?? 'the URL each request was sent to (set API_PUBLIC_URL behind a proxy)'}, server nonces ${config.dpopNonce ? 'required' : 'off'}`,
  );
});
// Hono never sees a handshake: the `upgrade` event goes to the `/live` endpoint.
server.on('upgrade', api.handleUpgrade);

function shutdown(signal: string): void {
  console.log(`api: ${signal} received, closing`);
  // Keep-alive sockets would hold close() open; the timer bounds the wait (unref: not a reason to stay alive).
  setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
  // Open sockets would hold close() open too: end them with 1001 (clients reconnect with back-off).
  api.close();
  server.close((err) => {
    if (err) console.error('api: error while closing', err);
    process.exit(err ? 1 : 0);
  });
  if ('closeIdleConnections' in server) server.closeIdleConnections();
}
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
