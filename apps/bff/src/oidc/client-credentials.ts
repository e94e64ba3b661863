import type { Context } from '@opentelemetry/api';
import * as oauth from 'oauth4webapi';
import { withDpopNonceRetry } from './dpop.ts';
import { type Idp, requestOptions } from './idp.ts';
import {
  classifyIdpFailure,
  describeIdpAnswer,
  type IdpFailureKind,
  InvalidIdpAnswerError,
  isRateLimited,
  retryAfterOf,
} from './idp-failure.ts';

/**
 * One client-credentials token request (RFC 6749 §4.4): the BFF asks the authorization server
 * for a token of its own, for an API route whose upstream takes the application's identity
 * rather than a user's (`token: "client"`). The request is oauth4webapi's, with the client
 * authentication, the timed and traced `fetch` and the failure classification that sign-in and
 * refresh use; caching it is `auth/client-tokens.ts`'s job.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @see https://developer.okta.com/docs/guides/implement-grant-type/clientcreds/main/
 */

/** A token the grant yielded. */
export interface ClientCredentialsToken {
  readonly accessToken: string;
  /** `dpop` when the request carried a proof (the token is bound to its key), else `bearer`. */
  readonly tokenType: 'bearer' | 'dpop';
  /** Its lifetime as the IdP stated it (`expires_in`), in whole seconds, at least 1. */
  readonly expiresInS: number;
  /** The scopes granted, when the IdP said (it may omit them when they are the ones asked for). */
  readonly scope: string | undefined;
}

/** A request that did not yield a token, classified as every IdP failure is (`idp-failure.ts`). */
export interface ClientCredentialsFailure {
  readonly ok: false;
  readonly failure: IdpFailureKind;
  /** The IdP's `Retry-After`, in seconds (1..300), when it sent one. */
  readonly retryAfterS: number | undefined;
  /** The IdP answered 429. */
  readonly rateLimited: boolean;
  /**
   * For a log line: what failed, with the IdP's HTTP status and OAuth `error` when it answered
   * (`describeIdpAnswer`). Never a token, a secret or a response body.
   */
  readonly reason: string;
  /** The token endpoint asked (without query), for the log line. */
  readonly endpoint: string | undefined;
  readonly cause: unknown;
}

export type ClientCredentialsResult =
  | { readonly ok: true; readonly token: ClientCredentialsToken }
  | ClientCredentialsFailure;

/**
 * Lifetime assumed when the answer has no `expires_in` (RFC 6749 §5.1 only recommends it; Okta
 * always sends it): short, so a token of unknown lifetime is asked for again within minutes
 * rather than sent upstream after it has expired.
 */
export const ASSUMED_LIFETIME_S = 300;

export interface ClientCredentialsRequestOptions {
  /**
   * The DPoP handle to prove possession with (`API_TOKEN_TYPE=dpop`): the token is then bound
   * to its key. Keep one handle per key: it remembers the token endpoint's `DPoP-Nonce`.
   */
  readonly dpop?: oauth.DPoPHandle | undefined;
  /** Epoch milliseconds, for an HTTP-date `Retry-After`. */
  readonly nowMs?: () => number;
  /** The trace context of the request the token is for: the call's span is its child. */
  readonly traceParent?: Context | undefined;
}

/**
 * Asks the IdP's token endpoint for a client-credentials token for `scopes`, authenticated with
 * the configured client authentication (`idp.clientAuth.token`: Basic, post, or a
 * `private_key_jwt` assertion whose `aud` is the token endpoint), within `IDP_TIMEOUT_MS` per
 * attempt, with a DPoP proof when `dpop` is given, once more if the IdP asks for a DPoP nonce.
 *
 * Never throws: every failure (no answer, a refusal, an answer that does not validate) is a
 * {@link ClientCredentialsFailure}.
 */
export async function requestClientCredentials(
  idp: Idp,
  scopes: readonly string[],
  { dpop, nowMs = Date.now, traceParent }: ClientCredentialsRequestOptions = {},
): Promise<ClientCredentialsResult> {
  try {
    const token = await withDpopNonceRetry(async () => {
      const parameters = new URLSearchParams();
      if (scopes.length > 0) parameters.set('scope', scopes.join(' '));
      const response = await oauth.clientCredentialsGrantRequest(
        idp.as,
        idp.client,
        idp.clientAuth.token,
        parameters,
        { ...requestOptions(idp, traceParent), ...(dpop ? { DPoP: dpop } : {}) },
      );
      return processClientCredentialsAnswer(idp, response, dpop !== undefined);
    });
    return { ok: true, token };
  } catch (error) {
    return failureOf(idp, error, nowMs());
  }
}

/**
 * The token endpoint's answer to a client-credentials request, as a result: only reads
 * `response` (no other I/O), so a hand-made `Response` tests it. `dpopBound`: the request
 * carried a DPoP proof, so the token must be a DPoP one (and a DPoP token answers nothing else).
 */
export async function parseClientCredentialsResponse(
  idp: Pick<Idp, 'as' | 'client'>,
  response: Response,
  { dpopBound = false, nowMs = Date.now }: { dpopBound?: boolean; nowMs?: () => number } = {},
): Promise<ClientCredentialsResult> {
  try {
    return { ok: true, token: await processClientCredentialsAnswer(idp, response, dpopBound) };
  } catch (error) {
    return failureOf(idp, error, nowMs());
  }
}

/** @throws what oauth4webapi throws (a DPoP nonce challenge among them), or `InvalidIdpAnswerError`. */
async function processClientCredentialsAnswer(
  idp: Pick<Idp, 'as' | 'client'>,
  response: Response,
  dpopBound: boolean,
): Promise<ClientCredentialsToken> {
  const answer = await oauth.processClientCredentialsResponse(idp.as, idp.client, response);
  // oauth4webapi lower-cases `token_type` and accepts only `bearer` and `dpop`.
  const tokenType = answer.token_type as 'bearer' | 'dpop';
  if (dpopBound !== (tokenType === 'dpop')) {
    // A Bearer token where DPoP was asked for would be sent upstream unbound, and a DPoP one
    // without a proof from us cannot be used at all.
    throw new InvalidIdpAnswerError(
      `the IdP answered a ${dpopBound ? 'DPoP' : 'Bearer'} client-credentials request with a ${tokenType} token`,
    );
  }
  const expiresInS = answer.expires_in ?? ASSUMED_LIFETIME_S;
  if (!(expiresInS >= 1)) {
    throw new InvalidIdpAnswerError(`the IdP issued a client-credentials token that lasts ${expiresInS} s`);
  }
  return {
    accessToken: answer.access_token,
    tokenType,
    expiresInS: Math.floor(expiresInS),
    scope: answer.scope,
  };
}

const STEP = 'client-credentials token request';

function failureOf(idp: Pick<Idp, 'as'>, error: unknown, nowMs: number): ClientCredentialsFailure {
  const failure = classifyIdpFailure(error);
  const answer = describeIdpAnswer(error);
  const reason =
    failure === 'unavailable'
      ? `the IdP could not be reached for the ${STEP}${answer}`
      : failure === 'refused'
        ? `the IdP refused the ${STEP}${answer}`
        : `the IdP's answer to the ${STEP} is not acceptable${answer}`;
  return {
    ok: false,
    failure,
    retryAfterS: retryAfterOf(error, nowMs),
    rateLimited: isRateLimited(error),
    reason,
    endpoint: idp.as.token_endpoint?.split('?')[0],
    cause: error,
  };
}
