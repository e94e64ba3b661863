import type { BffConfig } from '@okta-bff/oidc';
import type { AuthContext } from './auth/actions.ts';
import { createRefreshSession } from './auth/refresh-session.ts';
import { createTransactionCodec } from './auth/transaction.ts';
import { eventLogger, type Logger } from './logger.ts';
import type { IdpLoader } from './oidc/idp.ts';
import { PROTOCOL_CLAIMS } from './oidc/login.ts';
import { createCookieStore } from './session/cookie-store.ts';
import { COOKIE_PURPOSE, cookieNames } from './session/cookies.ts';
import { createInProcessRefresh } from './session/refresh.ts';
import { createSessionCodec, type SessionCodec } from './session/session.ts';

/**
 * What the Hono app and the `/api` proxy share, built once per process: the session store (with
 * its cache), the transaction codec and the refresh coordinator (with its single-flight map).
 */
export type Services = AuthContext;

export function createServices(config: BffConfig, idp: IdpLoader, logger: Logger): Services {
  const names = cookieNames(config.secureCookies);
  const log = eventLogger(logger);
  const codec = sessionCodecFor(config.sessionSecrets);
  return {
    config,
    names,
    sessions: createCookieStore({
      codec,
      names,
      idleTimeoutS: config.sessionIdleTimeoutS,
      maxAgeS: config.sessionMaxAgeS,
      refresher: createInProcessRefresh({ refresh: createRefreshSession({ idp, log }) }),
    }),
    transactions: createTransactionCodec(config.sessionSecrets, COOKIE_PURPOSE.transaction),
    log,
  };
}

/** The session codec for `SESSION_SECRET`'s entries: the session cookie's key, the user claims kept once. */
export function sessionCodecFor(secrets: readonly string[]): SessionCodec {
  return createSessionCodec({
    secrets,
    purpose: COOKIE_PURPOSE.session,
    isUserClaim: (name) => !PROTOCOL_CLAIMS.has(name),
  });
}
