import type { IncomingMessage } from 'node:http';
import type { BffConfig } from '@okta-bff/oidc';
import type { Context } from '@opentelemetry/api';
import type { AuthContext } from './auth/actions.ts';
import type { Logger } from './logger.ts';
import type { IdpLoader } from './oidc/idp.ts';
import type { Ops } from './services.ts';
import type { Session } from './session/model/session.ts';

/** What the app is built from: everything is passed in, nothing is global. */
export interface AppDeps {
  readonly config: BffConfig;
  readonly idp: IdpLoader;
  readonly logger: Logger;
  /** The SPA's production build; production serves it, development forwards to Vite instead. */
  readonly spaRoot?: string;
  /** Metrics and tracing; off unless `server.ts` turns them on. */
  readonly ops?: Ops;
  /** True from the start of a graceful shutdown: `/readyz` answers 503. */
  readonly shuttingDown?: () => boolean;
  /**
   * Epoch milliseconds: the clock of sessions, logins and logout channels (the real one unless a
   * test moves time on instead of waiting for it to pass).
   */
  readonly nowMs?: () => number;
}

/** Hono's typed context for this app (`new Hono<AppEnv>()`). */
export interface AppEnv {
  /** `@hono/node-server`'s bindings (absent under `app.request()` in tests). */
  Bindings: { incoming?: IncomingMessage };
  Variables: {
    requestId: string;
    /** The client's address: the socket's, or the `TRUST_PROXY`-believed `X-Forwarded-For` entry. */
    clientAddress: string | undefined;
    /**
     * With tracing on, the request's server span as a trace context: the parent of the client
     * spans of its IdP and store calls, passed to them explicitly (`ops/tracing.ts` says why).
     */
    traceParent: Context | undefined;
    log: Logger;
    auth: AuthContext;
    /** Set by the session middleware: the opened session, or `undefined`. */
    session: Session | undefined;
    /** Set by the session middleware: the request's cookies, parsed once. */
    cookies: Record<string, string>;
  };
}
