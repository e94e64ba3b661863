import { Hono } from 'hono';
import type { AppDeps, AppEnv } from './app-env.ts';
import { errorAsResponse } from './http/error-response.ts';
import { createRequestRecorder, type RequestRecorder } from './http/request-log.ts';
import { eventLogger } from './logger.ts';
import { handleErrors } from './middleware/error-handler.ts';
import { requestContext } from './middleware/request-context.ts';
import { authRoutes } from './routes/auth.ts';
import { diagnosticsRoutes } from './routes/diagnostics.ts';
import { healthRoutes } from './routes/health.ts';
import { logoutChannelRoutes } from './routes/logout-channels.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { spaRoutes } from './routes/spa.ts';
import { createServices, OPS_OFF, type Services } from './services.ts';

/**
 * Builds the BFF from its configuration and collaborators. Never listens: `server.ts` does, and
 * tests call `app.request()` or serve it on a free port.
 */
export function createApp(
  { config, idp, logger, spaRoot, ops = OPS_OFF, shuttingDown, nowMs }: AppDeps,
  services: Services = createServices(config, idp, logger, ops, nowMs),
  recordRequest: RequestRecorder = createRequestRecorder(logger, ops.metrics),
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(
    '*',
    requestContext({
      logger,
      recordRequest,
      tracing: ops.tracing,
      callbackPath: config.callbackPath,
      trustProxyHops: config.trustProxyHops,
    }),
  );
  app.use('*', async function provideAuthContext(c, next) {
    // The same services, logging through this request's logger (its lines carry the request id),
    // with its trace context for the IdP and store calls the actions make.
    c.set('auth', { ...services, log: eventLogger(c.var.log), traceParent: c.get('traceParent') });
    await next();
  });

  app.route('/', healthRoutes(idp, services.sessions, shuttingDown));
  app.route('/', authRoutes(idp, config.callbackPath, config.publicOrigin, services.loginRateLimiter));
  app.route('/', logoutChannelRoutes(idp, config.issuer, services.loginRateLimiter));
  app.route('/', sessionRoutes(idp, config.publicOrigin));
  if (config.mode === 'development') app.route('/', diagnosticsRoutes());
  if (spaRoot) app.route('/', spaRoutes({ root: spaRoot, publicOrigin: config.publicOrigin }));

  app.notFound(() => errorAsResponse('not_found', 'There is nothing at this address.'));
  app.onError(handleErrors(logger));
  return app;
}
