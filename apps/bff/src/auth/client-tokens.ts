import type { Context } from '@opentelemetry/api';
import type * as oauth from 'oauth4webapi';
import type { EventLog } from '../logger.ts';
import { requestClientCredentials } from '../oidc/client-credentials.ts';
import { type DpopKey, dpopHandle, generateDpopKey } from '../oidc/dpop.ts';
import type { Idp, IdpLoader } from '../oidc/idp.ts';
import { InvalidIdpAnswerError } from '../oidc/idp-failure.ts';
import type { Metrics } from '../ops/metrics.ts';

/** The token an admitted request carries upstream (a Session satisfies it too). */
export interface UpstreamToken {
  readonly accessToken: string;
  /** Epoch seconds. */
  readonly accessTokenExpiresAt: number;
  /** DPoP-bound: the private JWK proofs are signed with. */
  readonly dpopKey?: DpopKey | undefined;
}

export type ClientTokenResult =
  | { readonly ok: true; readonly token: UpstreamToken }
  | { readonly ok: false; readonly retryAfterS: number | undefined; readonly cause: unknown };

export interface ClientTokens {
  /**
   * A client-credentials token for `scopes` (in any order, repeats ignored), or why there is
   * none. Never throws. While a token is reused, every caller gets the same `token` object.
   * `parent`: the asking request's trace context, for the token call's span.
   */
  get(scopes: readonly string[], parent?: Context): Promise<ClientTokenResult>;
}

export interface ClientTokensOptions {
  /** Where the discovered IdP is (the same loader the sign-in and refresh steps use). */
  readonly idp: Pick<IdpLoader, 'current'>;
  /** A failed token request is logged here, at `warn`, once per request. */
  readonly log: EventLog;
  /**
   * The BFF's metrics. Each token request is already measured where it is made, by the IdP's
   * `fetch` (`bff_idp_request_duration_seconds{kind="token"}`, with its outcome), so nothing is
   * counted twice here.
   */
  readonly metrics: Metrics;
  /** Epoch milliseconds. */
  readonly nowMs?: () => number;
}

/** A token is used until this long before it expires… */
export const REUSE_MARGIN_S = 60;
/**
 * After a failed request, callers for the same scopes get that failure for this long before one
 * of them asks the IdP again: at most one request a second per scope set while the IdP refuses
 * or is down, however many requests the routes get.
 */
export const FAILURE_BACKOFF_MS = 1_000;
/** Backing off after a 429 that said nothing about when to come back (as the refresh path does). */
const DEFAULT_RATE_LIMIT_BACKOFF_S = 5;

interface CachedToken {
  /** The one result object every caller gets while the token is reused. */
  readonly result: ClientTokenResult & { readonly ok: true };
  /** From then on, the next caller asks for a new token. */
  readonly renewAtMs: number;
  /** From then on, it is never handed out. */
  readonly expiresAtMs: number;
}

interface Entry {
  token: CachedToken | undefined;
  /** The request in flight for these scopes: every caller meanwhile waits for it (single flight). */
  inFlight: Promise<ClientTokenResult> | undefined;
  /** The last failure, handed out until `failedUntilMs` instead of asking again. */
  failure: (ClientTokenResult & { readonly ok: false }) | undefined;
  failedUntilMs: number;
}

/**
 * Client-credentials tokens (RFC 6749 §4.4) for the API routes with `token: "client"`, from the
 * same authorization server and with the same client authentication as sign-in. One cache per
 * process (`services.ts`), apart from the sessions: nothing in it belongs to a user.
 *
 * - A token is reused until {@link REUSE_MARGIN_S} before it expires, or half its lifetime if
 *   that is shorter; it is never handed out at or after its expiry (counted from when it was
 *   asked for, so never later than the IdP's own).
 * - One request at a time per scope set (the sorted, de-duplicated scopes): N concurrent
 *   callers for a token that is missing or due cause one request, and all get its result.
 * - A failure is a result, never a throw: `ok: false` with the IdP's `Retry-After` when it sent
 *   one, logged once per request (`client_token_failed`, at `warn`). As on the refresh path, a 429
 *   or a `Retry-After` stops all requests to the token endpoint until then (5 s for a bare 429);
 *   any other failure is handed to the callers of the next {@link FAILURE_BACKOFF_MS}, then the
 *   next caller asks again. When the IdP cannot be reached, a token that has not expired yet is
 *   still used, as a session's is; when it refuses, the token is dropped.
 * - `API_TOKEN_TYPE=dpop`: requests carry a DPoP proof of one key, generated at first use and
 *   kept for the life of this cache (the process), so its tokens are bound to it (`cnf.jkt`) and
 *   `token.dpopKey` is the key the proxy signs its proofs with.
 *
 * Memory: one entry per scope set asked for. The scope sets come from the configured routes
 * (`API_ROUTES`), never from a request, so there are as many entries as routes at most, and no
 * other bound is needed.
 */
export function createClientTokens({
  idp: loader,
  log,
  nowMs = Date.now,
}: ClientTokensOptions): ClientTokens {
  const entries = new Map<string, Entry>();
  /**
   * Until when the IdP asked us to stay away (its `Retry-After`, or a bare 429). Okta's rate
   * limits are per org and endpoint: while it lasts, no scope set's token is asked for.
   */
  let backOffUntilMs = 0;
  /** The process's DPoP key, made at first use, and a handle per IdP (it keeps the nonces). */
  let dpopKey: Promise<DpopKey> | undefined;
  let dpop: { readonly idp: Idp; readonly handle: Promise<oauth.DPoPHandle> } | undefined;

  function dpopFor(idp: Idp): Promise<{ key: DpopKey; handle: oauth.DPoPHandle }> {
    dpopKey ??= generateDpopKey();
    const key = dpopKey;
    if (dpop?.idp !== idp) dpop = { idp, handle: key.then((jwk) => dpopHandle(idp.client, jwk)) };
    const { handle } = dpop;
    return Promise.all([key, handle]).then(([jwk, h]) => ({ key: jwk, handle: h }));
  }

  /** The cached token while it may still be handed out (before its expiry), else `undefined`. */
  const unexpired = (entry: Entry, now: number) =>
    entry.token && now < entry.token.expiresAtMs ? entry.token.result : undefined;

  async function obtain(
    scopes: readonly string[],
    entry: Entry,
    traceParent: Context | undefined,
  ): Promise<ClientTokenResult> {
    const idp = loader.current();
    if (!idp) return fail(entry, new Error('the IdP metadata is not loaded'));
    const askedAtMs = nowMs();
    let proof: { key: DpopKey; handle: oauth.DPoPHandle } | undefined;
    try {
      proof = idp.useDpop ? await dpopFor(idp) : undefined;
    } catch (error) {
      // Generating or importing a key failed: nothing to do with the IdP, and worth a line.
      dpopKey = undefined;
      dpop = undefined;
      log('client_token_failed', { scopes: scopes.join(' '), reason: 'no DPoP key', cause: error }, 'warn');
      return fail(entry, error);
    }
    const answer = await requestClientCredentials(idp, scopes, { dpop: proof?.handle, nowMs, traceParent });
    const now = nowMs();
    if (answer.ok) {
      const lifetimeS = answer.token.expiresInS;
      // Whole seconds, rounded down, from when it was asked for: never later than the IdP's `exp`.
      const accessTokenExpiresAt = Math.floor(askedAtMs / 1000) + lifetimeS;
      const expiresAtMs = accessTokenExpiresAt * 1000;
      if (now < expiresAtMs) {
        const token: UpstreamToken = Object.freeze(
          proof
            ? { accessToken: answer.token.accessToken, accessTokenExpiresAt, dpopKey: proof.key }
            : { accessToken: answer.token.accessToken, accessTokenExpiresAt },
        );
        entry.token = {
          result: Object.freeze({ ok: true, token }),
          renewAtMs: expiresAtMs - Math.min(REUSE_MARGIN_S, lifetimeS / 2) * 1000,
          expiresAtMs,
        };
        entry.failure = undefined;
        return entry.token.result;
      }
      // It took longer to arrive than it lasts: not a token to hand out.
      const error = new InvalidIdpAnswerError('the client-credentials token expired before it arrived');
      log('client_token_failed', { scopes: scopes.join(' '), reason: error.message }, 'warn');
      return fail(entry, error);
    }
    log(
      'client_token_failed',
      {
        scopes: scopes.join(' '),
        failure: answer.failure,
        endpoint: answer.endpoint,
        reason: answer.reason,
        ...(answer.retryAfterS === undefined ? {} : { retryAfterS: answer.retryAfterS }),
        cause: answer.cause,
      },
      'warn',
    );
    if (answer.failure === 'unavailable' && (answer.rateLimited || answer.retryAfterS !== undefined)) {
      backOffUntilMs = now + (answer.retryAfterS ?? DEFAULT_RATE_LIMIT_BACKOFF_S) * 1000;
    }
    if (answer.failure !== 'unavailable') {
      // The IdP refused it, or said something we cannot accept: the token is no longer ours to use.
      entry.token = undefined;
    }
    return fail(entry, answer.cause, answer.retryAfterS);
  }

  /** Remembers a failure for the back-off; a token that has not expired is still used meanwhile. */
  function fail(entry: Entry, cause: unknown, retryAfterS?: number): ClientTokenResult {
    const now = nowMs();
    entry.failure = Object.freeze({ ok: false, retryAfterS, cause });
    entry.failedUntilMs = now + FAILURE_BACKOFF_MS;
    return unexpired(entry, now) ?? entry.failure;
  }

  /** Each configured scope list's normalised form, worked out once (the hot path asks per request). */
  const normalised = new WeakMap<readonly string[], { list: readonly string[]; key: string }>();
  const normalise = (scopes: readonly string[]) => {
    let found = normalised.get(scopes);
    if (!found) {
      const list = [...new Set(scopes)].sort();
      found = { list, key: list.join(' ') };
      normalised.set(scopes, found);
    }
    return found;
  };

  return {
    get(scopes, parent) {
      const { list, key } = normalise(scopes);
      let entry = entries.get(key);
      if (!entry) {
        entry = { token: undefined, inFlight: undefined, failure: undefined, failedUntilMs: 0 };
        entries.set(key, entry);
      }
      const now = nowMs();
      if (entry.token && now < entry.token.renewAtMs) return Promise.resolve(entry.token.result);
      if (entry.inFlight) return entry.inFlight;

      const waitS = Math.ceil((backOffUntilMs - now) / 1000);
      if (waitS > 0) {
        return Promise.resolve(
          unexpired(entry, now) ?? {
            ok: false,
            retryAfterS: waitS,
            cause: new Error('the IdP asked to retry later'),
          },
        );
      }
      if (entry.failure && now < entry.failedUntilMs) {
        return Promise.resolve(unexpired(entry, now) ?? entry.failure);
      }

      const current = entry;
      const flight = (async () => {
        try {
          // One request for all who ask meanwhile, traced under the first asker's trace (it
          // waits for it); the others' traces show their wait only.
          return await obtain(list, current, parent);
        } catch (error) {
          // A bug rather than an outage (the request itself never throws): still a result.
          log('client_token_failed', { scopes: key, reason: 'unexpected error', cause: error }, 'warn');
          return fail(current, error);
        } finally {
          current.inFlight = undefined;
        }
      })();
      current.inFlight = flight;
      return flight;
    },
  };
}
