import { existsSync } from 'node:fs';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { ConfigError, type RunMode } from '@okta-bff/oidc';
import { configFromEnvironment } from './config.ts';
import { createBffServer } from './http-server.ts';
import { createLogger, describeError, stdoutDestination } from './logger.ts';
import { discoverIdp, IdpMismatchError, startIdpLoader } from './oidc/idp.ts';
import { createMetrics, createMetricsServer, NO_METRICS } from './ops/metrics.ts';
import { installGracefulShutdown } from './ops/shutdown.ts';
import { startTracing, TRACING_OFF } from './ops/tracing.ts';

function loadConfigOrExit(mode: RunMode) {
  try {
    return configFromEnvironment(mode);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write('The BFF cannot start: the configuration is not valid.\n');
      for (const p of error.problems) process.stderr.write(`  ${p.variable}: ${p.reason}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * The BFF as a program: configuration (or a list of its problems and exit 1), the IdP loader,
 * the listener, metrics and graceful shutdown. `mode` is the entry point's: `server.ts` is
 * production (`pnpm start`), `dev-server.ts` development (`pnpm dev`).
 */
export async function runBff(mode: RunMode): Promise<void> {
  const config = loadConfigOrExit(mode);
  const logger = createLogger(config.logLevel, stdoutDestination());
  const metrics = config.metricsPort === undefined ? undefined : await createMetrics();
  const tracing = config.tracingEnabled ? await startTracing(config.serviceName) : TRACING_OFF;
  const ops = { metrics: metrics ?? NO_METRICS, tracing };

  const idp = startIdpLoader(() => discoverIdp(config, ops), {
    onError: (error, attempt) => {
      if (error instanceof IdpMismatchError) {
        // The IdP answered, and contradicts the configuration: waiting cannot fix that.
        process.stderr.write(`The BFF cannot start: ${error.message}.\n`);
        process.exit(1);
      }
      logger.warn(
        { attempt, err: describeError(error), issuer: config.issuer },
        'IdP discovery failed; retrying',
      );
    },
  });
  void idp.ready.then(() => logger.info({ issuer: config.issuer }, 'IdP metadata loaded'));

  /** The SPA build, next to this app in the repository (`apps/web/dist`) unless STATIC_DIR says otherwise. */
  const spaRoot = config.staticDir ?? fileURLToPath(new URL('../../web/dist', import.meta.url));
  if (config.mode === 'production' && !existsSync(spaRoot)) {
    logger.warn({ spaRoot }, 'the SPA is not built (run `pnpm build`): pages will answer 404');
  }

  let shuttingDown = false;
  const server = createBffServer({
    config,
    idp,
    logger,
    ops,
    shuttingDown: () => shuttingDown,
    ...(config.mode === 'production' ? { spaRoot } : {}),
  });
  server.listen(config.port, config.host, () => {
    logger.info(
      { port: config.port, mode: config.mode, origin: config.publicOrigin, tracing: tracing.enabled },
      `BFF listening on port ${config.port}; the browser uses ${config.publicOrigin}`,
    );
  });

  let metricsServer: http.Server | undefined;
  if (metrics && config.metricsPort !== undefined) {
    metricsServer = createMetricsServer(metrics.registry);
    metricsServer.listen(config.metricsPort, config.host, () =>
      logger.info(
        { port: config.metricsPort },
        `Prometheus metrics on port ${config.metricsPort}, path /metrics`,
      ),
    );
  }

  installGracefulShutdown({
    server,
    timeoutS: config.shutdownTimeoutS,
    logger,
    webSockets: server.webSockets,
    begin: () => {
      shuttingDown = true;
      idp.stop();
    },
    close: async () => {
      metricsServer?.close();
      await server.closeSessions();
      await tracing.shutdown();
    },
  });
}
