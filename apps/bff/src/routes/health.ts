import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { errorAsResponse } from '../http/error-response.ts';
import type { IdpLoader } from '../oidc/idp.ts';
import type { SessionStore } from '../session/store/store.ts';

/**
 * Liveness (`/healthz`: the process runs) and readiness (`/readyz`: IdP metadata is loaded and the
 * session store answers; 503 JSON with the reason otherwise, and from the start of a shutdown).
 */
export function healthRoutes(
  idp: IdpLoader,
  sessions: Pick<SessionStore, 'unavailableReason'>,
  shuttingDown: () => boolean = () => false,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Each of these codes is a 503 (errors.ts).
  const unready = errorAsResponse;
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (shuttingDown()) return unready('service_unavailable', 'The server is shutting down.');
    if (!idp.current())
      return unready('idp_unavailable', 'The identity provider metadata is not loaded yet.');
    const store = await sessions.unavailableReason();
    if (store) return unready('session_store_unavailable', `The session store is not available: ${store}.`);
    return c.json({ status: 'ready' });
  });
  return app;
}
