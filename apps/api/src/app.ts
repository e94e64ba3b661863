/**
 * Builds the sample resource API from plain options. It never listens and never reads the
 * environment (see `server.ts` and `config.ts`), so tests drive it with `app.request()`.
 */
import { Hono } from 'hono';
import type { JWTVerifyGetKey } from 'jose';
import { createAccessTokenVerifier } from './access-token.ts';
import { type ApiEnv, bearerAuth, bearerChallenge } from './bearer-auth.ts';
import { ApiError, type ApiErrorBody } from './errors.ts';
import { createMemoryItemStore, type ItemStore } from './item-store.ts';
import { diagnosticRoutes } from './routes/diagnostics.ts';
import { itemRoutes } from './routes/items.ts';

export interface ApiAppOptions {
  /** The authorization server whose access tokens are accepted (`iss`), e.g. `https://dev-1.okta.com/oauth2/default`. */
  issuer: string;
  /** Expected `aud`; Okta's default authorization server issues `api://default`. */
  audience: string;
  /** Key source; default: the issuer's JWKS found by discovery on first request. Tests pass a local set. */
  jwks?: JWTVerifyGetKey;
  /** Default: a fresh in-memory store. */
  store?: ItemStore;
  /** Clock skew allowed on `exp`/`nbf`, in seconds (default 5). */
  clockToleranceS?: number;
  /** For discovery and JWKS requests (tests put a fake IdP here); default: global `fetch`. */
  fetch?: typeof fetch;
  /** Where unexpected errors are reported; default `console.error`. Never receives a token. */
  logError?: (message: string, err: unknown) => void;
}

function errorBody(code: ApiErrorBody['error'], message: string): ApiErrorBody {
  return { error: code, message };
}

/**
 * Creates the API: `GET /healthz` open; everything else behind a verified Okta access token.
 *
 * | route | answer |
 * |---|---|
 * | `GET /healthz` | 200 `{"status":"ok"}`, no token needed |
 * | `GET /items` | 200 `{"items":[{id,name,createdAt}]}`, the caller's (`sub`) items |
 * | `POST /items` `{"name":"..."}` | 201 the new item; 400 `bad_request` / `item_limit_reached`, 413 `payload_too_large` |
 * | any `/echo` | 200 a description of the request received ({@link EchoBody}) |
 * | `GET /bytes?n=` | 200 `n` zero bytes, streamed |
 *
 * A missing token answers 401 `unauthenticated` with `WWW-Authenticate: Bearer realm="api"`; a
 * refused one 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token", ...`;
 * an unreachable IdP 503 `idp_unavailable`.
 *
 * @see RFC 6750 §3 (bearer challenges)
 * @see https://developer.okta.com/docs/guides/protect-your-api/ (Okta: protecting an API)
 */
export function createApiApp(options: ApiAppOptions): Hono<ApiEnv> {
  const verifyAccessToken = createAccessTokenVerifier({
    issuer: options.issuer,
    audience: options.audience,
    jwks: options.jwks,
    clockToleranceS: options.clockToleranceS,
    fetch: options.fetch,
  });
  const store = options.store ?? createMemoryItemStore();
  const logError = options.logError ?? ((message, err) => console.error(message, err));

  const app = new Hono<ApiEnv>();

  // Before the auth middleware: probes carry no token.
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.use('*', bearerAuth(verifyAccessToken));
  app.route('/items', itemRoutes(store));
  app.route('/', diagnosticRoutes());

  app.notFound((c) => c.json(errorBody('not_found', 'No such route'), 404));

  app.onError(function answerError(err, c) {
    if (err instanceof ApiError) {
      const challenge = bearerChallenge(err);
      if (challenge) c.header('WWW-Authenticate', challenge);
      // The IdP being unreachable is an operational problem worth a log line; token faults are routine.
      if (err.status >= 500) logError(`${err.code}: ${err.message}`, err.cause);
      return c.json(errorBody(err.code, err.message), err.status);
    }
    // Unknown failure: log it whole, answer nothing that could leak internals (no stack, no message).
    logError('unexpected error', err);
    return c.json(errorBody('internal_error', 'Something went wrong'), 500);
  });

  return app;
}
