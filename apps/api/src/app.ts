/**
 * Builds the sample resource API from plain options. It never listens and never reads the
 * environment (see `server.ts` and `config.ts`), so tests drive it with `app.request()`, and
 * `/live` with a server of their own that passes `upgrade` events to {@link Api.handleUpgrade}.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Context, Hono } from 'hono';
import type { JWTVerifyGetKey } from 'jose';
import { createAccessTokenVerifier } from './access-token.ts';
import { type ApiEnv, authChallenge, bearerAuth } from './bearer-auth.ts';
import { createDpopNonces } from './dpop-nonce.ts';
import { createDpopProofVerifier } from './dpop-proof.ts';
import { ApiError, type ApiErrorBody } from './errors.ts';
import { createMemoryItemStore, type ItemStore } from './item-store.ts';
import { createLiveUpdates, LIVE_PATH } from './live.ts';
import { diagnosticRoutes } from './routes/diagnostics.ts';
import { itemRoutes } from './routes/items.ts';
import { type PublicNoticesBody, publicRoutes } from './routes/public.ts';
import { statsRoutes } from './routes/stats.ts';
import { resolveStepUpPolicy, type StepUpPolicy } from './step-up.ts';

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
  /**
   * The API's base URL as its clients call it (`API_PUBLIC_URL`), e.g. `https://api.example.com`
   * or, behind a gateway that strips a prefix, `https://gw.example.com/items-api`. A DPoP proof's
   * `htu` must be this plus the request path. Default: the URL the request was sent to, from its
   * `Host` header, which is right only when clients reach this server directly (see `dpop-htu.ts`).
   */
  publicUrl?: string;
  /**
   * Require server nonces in DPoP proofs (`API_DPOP_NONCE`, RFC 9449 §9): a proof without the
   * current nonce is answered 401 `use_dpop_nonce` with a fresh `DPoP-Nonce`. Default `false`.
   */
  dpopNonce?: boolean;
  /** Clock of the DPoP checks and of `/live`'s token expiry, in milliseconds (default `Date.now`); tests move it. */
  now?: () => number;
  /** What `GET /public/notices` answers; default: the sample's two notices. */
  notices?: PublicNoticesBody;
  /** `/live` sockets open at once, all users together (default 10 000); more handshakes get 503. */
  maxLiveConnections?: number;
  /**
   * What `DELETE /items/:id` demands of the user's sign-in (RFC 9470 step-up), each part
   * defaulted: an access token whose `acr` is `urn:okta:loa:2fa:any`, `phr` or `phrh`
   * (`acceptedAcrValues`) and whose `auth_time` is at most 300 s old (`maxAgeS`); otherwise 401
   * `insufficient_user_authentication` asking for `acr_values="urn:okta:loa:2fa:any"`
   * (`challengeAcrValues`) and `max_age="300"`. An invalid policy throws here.
   */
  deleteStepUp?: Partial<StepUpPolicy>;
}

/** The API: its HTTP routes and its WebSocket endpoint, which a server wires up together. */
export interface Api {
  /** Every HTTP route: serve `app.fetch` (`@hono/node-server`). */
  app: Hono<ApiEnv>;
  /** The server's `upgrade` listener: `/live` (see `live.ts`); any other upgrade is refused. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes the open `/live` sockets with 1001 and refuses new ones; call when shutting down. */
  close(): void;
}

function errorBody(code: ApiErrorBody['error'], message: string): ApiErrorBody {
  return { error: code, message };
}

/**
 * Creates the API: `GET /healthz` and `/public/*` open (a token sent there is not looked at);
 * everything else behind a verified Okta access token.
 *
 * | route | answer |
 * |---|---|
 * | `GET /healthz` | 200 `{"status":"ok"}`, no token needed |
 * | `GET /public/notices` | 200 `{"status":"operational","notices":[{id,title,text,publishedAt}]}`, no token needed; other `/public` paths 404 |
 * | `GET /items` | 200 `{"items":[{id,name,createdAt}]}`, the caller's (`sub`) items |
 * | `POST /items` `{"name":"..."}` | 201 the new item; 400 `bad_request` / `item_limit_reached`, 413 `payload_too_large` |
 * | `DELETE /items/:id` | 204, the caller's item removed (`/live` sockets see the new list); 404 `not_found` for an unknown id or another user's; needs a step-up, else 401 `insufficient_user_authentication` (below) |
 * | `GET /stats` | 200 `{"totalItems":n,"usersWithItems":n}` over all users; needs scope `items:stats`, else 403 `insufficient_scope` |
 * | WebSocket `/live` | the caller's items as `{"type":"items","items":[...]}` at once and after each change; closes 1008 at the token's `exp` (`live.ts`) |
 * | any `/echo` | 200 a description of the request received ({@link EchoBody}) |
 * | `GET /bytes?n=` | 200 `n` zero bytes, streamed |
 *
 * Tokens come as `Authorization: Bearer <token>`, or, when bound to a DPoP key (`cnf.jkt`), as
 * `Authorization: DPoP <token>` with a `DPoP` proof for this request. A missing token answers
 * 401 `unauthenticated` with `WWW-Authenticate: Bearer realm="api", DPoP algs="..."`; a refused
 * one 401 `invalid_token` (challenged in the scheme used), a refused proof 401
 * `invalid_dpop_proof`, a proof without the server nonce (when required) 401 `use_dpop_nonce`
 * with `DPoP-Nonce`; an unreachable IdP 503 `idp_unavailable`. A token without a route's scope
 * answers 403 `insufficient_scope` with `WWW-Authenticate: Bearer error="insufficient_scope",
 * scope="..."` (`DPoP ...` for a DPoP-bound token). A `/live` handshake is checked the same way
 * and refused with the same status and challenge, without an upgrade.
 *
 * A token whose sign-in does not meet a step-up route's policy (`deleteStepUp`) answers 401
 * `insufficient_user_authentication` with, by default, `WWW-Authenticate: Bearer
 * error="insufficient_user_authentication", error_description="A different authentication level
 * is required", acr_values="urn:okta:loa:2fa:any", max_age="300"` (`More recent authentication is
 * required` when only `auth_time` is too old; `DPoP ..., algs="..."` for a DPoP-bound token).
 *
 * @see RFC 6750 §3 (bearer challenges), RFC 9449 §7 and §9 (DPoP), RFC 9470 §3 (step-up)
 * @see https://developer.okta.com/docs/guides/protect-your-api/ (Okta: protecting an API)
 */
export function createApi(options: ApiAppOptions): Api {
  const verifyAccessToken = createAccessTokenVerifier({
    issuer: options.issuer,
    audience: options.audience,
    jwks: options.jwks,
    clockToleranceS: options.clockToleranceS,
    fetch: options.fetch,
  });
  const dpop = createDpopProofVerifier({
    publicUrl: options.publicUrl === undefined ? undefined : new URL(options.publicUrl),
    nonces: options.dpopNonce ? createDpopNonces({ now: options.now }) : undefined,
    now: options.now,
  });
  const store = options.store ?? createMemoryItemStore();
  const deleteStepUp = resolveStepUpPolicy(options.deleteStepUp);
  const logError = options.logError ?? ((message, err) => console.error(message, err));

  const live = createLiveUpdates({
    verifyAccessToken,
    dpop,
    store,
    logError,
    maxConnections: options.maxLiveConnections,
    now: options.now,
  });

  const app = new Hono<ApiEnv>();
  const notFound = (c: Context<ApiEnv>) => c.json(errorBody('not_found', 'No such route'), 404);

  // Before the auth middleware: probes carry no token, and neither do public reads.
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.route('/public', publicRoutes(options.notices));
  app.all('/public', notFound);
  app.all('/public/*', notFound);

  app.use('*', bearerAuth({ verifyAccessToken, dpop }));
  app.route(
    '/items',
    itemRoutes(store, { deleteStepUp, now: options.now, clockToleranceS: options.clockToleranceS }),
  );
  app.route('/stats', statsRoutes(store));
  // Only handshakes (the server's `upgrade` event) reach the socket; a plain request is told so.
  app.all(LIVE_PATH, () => {
    throw new ApiError('bad_request', 400, 'This is a WebSocket endpoint: open it with a WebSocket');
  });
  app.route('/', diagnosticRoutes());

  app.notFound(notFound);

  app.onError(function answerError(err, c) {
    if (err instanceof ApiError) {
      const challenge = authChallenge(err);
      if (challenge) c.header('WWW-Authenticate', challenge);
      // The IdP being unreachable is an operational problem worth a log line; token faults are routine.
      if (err.status >= 500) logError(`${err.code}: ${err.message}`, err.cause);
      return c.json(errorBody(err.code, err.message), err.status);
    }
    // Unknown failure: log it whole, answer nothing that could leak internals (no stack, no message).
    logError('unexpected error', err);
    return c.json(errorBody('internal_error', 'Something went wrong'), 500);
  });

  return { app, handleUpgrade: live.handleUpgrade, close: live.close };
}

/**
 * The API's HTTP routes alone, for callers that serve no WebSocket (the BFF's proxy tests): see
 * {@link createApi}, whose `/live` this leaves unreachable.
 */
export function createApiApp(options: ApiAppOptions): Hono<ApiEnv> {
  return createApi(options).app;
}
