import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@okta-bff/oidc';
import { configFromEnvironment } from './config.ts';
import { createBffServer } from './http-server.ts';
import { createLogger, describeError } from './logger.ts';
import { discoverIdp, startIdpLoader } from './oidc/idp.ts';

/** In-flight requests get this long to finish after SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 10_000;

function loadConfigOrExit() {
  try {
    return configFromEnvironment();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write('The BFF cannot start: the configuration is not valid.\n');
      for (const p of error.problems) process.stderr.write(`  ${p.variable}: ${p.reason}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
const idp = startIdpLoader(() => discoverIdp(config), {
  onError: (error, attempt) =>
    logger.warn(
      { attempt, err: describeError(error), issuer: config.issuer },
      'IdP discovery failed; retrying',
    ),
});
void idp.ready.then(() => logger.info({ issuer: config.issuer }, 'IdP metadata loaded'));

/** The SPA build, next to this app in the repository (`apps/web/dist`) unless STATIC_DIR says otherwise. */
const spaRoot = config.staticDir ?? fileURLToPath(new URL('../../web/dist', import.meta.url));
if (config.mode === 'production' && !existsSync(spaRoot)) {
  logger.warn({ spaRoot }, 'the SPA is not built (run `pnpm build`): pages will answer 404');
}

const server = createBffServer({ config, idp, logger, ...(config.mode === 'production' ? { spaRoot } : {}) });
server.listen(config.port, config.host, () => {
  logger.info(
    { port: config.port, mode: config.mode, origin: config.publicOrigin },
    `BFF listening on port ${config.port}; the browser uses ${config.publicOrigin}`,
  );
});

function shutdown(signal: string) {
  logger.info({ signal }, 'shutting down');
  idp.stop();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
}
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));
