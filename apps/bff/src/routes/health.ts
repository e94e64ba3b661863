import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { IdpLoader } from '../oidc/idp.ts';

/** Liveness (`/healthz`: the process runs) and readiness (`/readyz`: IdP metadata is loaded). */
export function healthRoutes(idp: IdpLoader): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) =>
    idp.current()
      ? c.json({ status: 'ready' })
      : c.json(
          { error: 'idp_unavailable', message: 'The identity provider metadata is not loaded yet.' },
          503,
        ),
  );
  return app;
}
