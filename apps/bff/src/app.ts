import type { ErrorBody } from '@okta-bff/oidc';
import { Hono } from 'hono';
import type { AppDeps, AppEnv } from './app-env.ts';
import { BffError } from './errors.ts';
import { describeError, eventLogger } from './logger.ts';
import { requestContext } from './middleware/request-context.ts';
import { authRoutes } from './routes/auth.ts';
import { diagnosticsRoutes } from './routes/diagnostics.ts';
import { healthRoutes } from './routes/health.ts';
import { spaRoutes } from './routes/spa.ts';
import { createServices, type Services } from './services.ts';

/**
 * Builds the BFF from its configuration and collaborators. Never listens: `server.ts` does, and
 * tests call `app.request()` or serve it on a free port.
 */
export function createApp(
  { config, idp, logger, spaRoot }: AppDeps,
  services: Services = createServices(config, idp, logger),
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { auth, readSession } = services;

  app.use('*', requestContext(logger));
  app.use('*', async function provideAuthContext(c, next) {
    c.set('readSession', readSession);
    // The same steps, logging through this request's logger (its lines carry the request id).
    c.set('auth', { ...auth, log: eventLogger(c.var.log) });
    await next();
  });

  app.route('/', healthRoutes(idp));
  app.route('/', authRoutes(idp, config.callbackPath));
  if (config.mode === 'development') app.route('/', diagnosticsRoutes());
  if (spaRoot) app.route('/', spaRoutes({ root: spaRoot, publicOrigin: config.publicOrigin }));

  app.notFound((c) =>
    c.json<ErrorBody>({ error: 'not_found', message: 'There is nothing at this address.' }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof BffError) {
      const level = error.status >= 500 ? 'warn' : 'info';
      c.var.log?.[level]({ code: error.code, cause: describeError(error.cause) }, error.message);
      return c.json<ErrorBody>({ error: error.code, message: error.message }, error.status);
    }
    (c.var.log ?? logger).error({ err: describeError(error) }, 'unhandled error');
    return c.json<ErrorBody>({ error: 'internal_error', message: 'Something went wrong on our side.' }, 500);
  });
  return app;
}
