import type { BffConfig } from '@okta-bff/oidc';
import type { AuthContext } from './auth/actions.ts';
import { eventLogger, type Logger } from './logger.ts';
import type { IdpLoader } from './oidc/idp.ts';
import { RefreshError, refreshTokens } from './oidc/tokens.ts';
import { cookieNames } from './session/cookies.ts';
import { createInProcessRefresh, type RefreshCoordinator } from './session/refresh.ts';
import { createSessionCodec } from './session/session.ts';
import { createSessionReader, type SessionReader } from './session/session-reader.ts';

/**
 * What the Hono app and the `/api` proxy share, built once per process: the session codec and
 * reader (with its cache) and the refresh coordinator (with its single-flight map).
 */
export interface Services {
  readonly auth: AuthContext;
  readonly readSession: SessionReader;
  readonly refresher: RefreshCoordinator;
}

export function createServices(config: BffConfig, idp: IdpLoader, logger: Logger): Services {
  const codec = createSessionCodec(config.sessionSecrets);
  const names = cookieNames(config.secureCookies);
  return {
    auth: {
      config,
      codec,
      names,
      log: eventLogger(logger),
    },
    readSession: createSessionReader(codec, names.session),
    refresher: createInProcessRefresh({
      refresh: (refreshToken) => {
        const current = idp.current();
        if (!current)
          return Promise.reject(new RefreshError('idp_unavailable', 'the IdP metadata is not loaded'));
        return refreshTokens(current, refreshToken);
      },
    }),
  };
}
