import type { BffConfig } from '@okta-bff/oidc';
import type { Context } from '@opentelemetry/api';
import { createRemoteJWKSet, type JWTVerifyGetKey, customFetch as joseCustomFetch } from 'jose';
import * as oauth from 'oauth4webapi';
import { ApiError } from '../errors.ts';
import { type IdpFetch, instrumentedFetch } from '../ops/instrumented-fetch.ts';
import { type IdpCallKind, type Metrics, NO_METRICS } from '../ops/metrics.ts';
import { TRACING_OFF, type Tracing } from '../ops/tracing.ts';
import { type ClientAuthentication, createClientAuthentication } from './client-auth.ts';

/**
 * Everything the protocol steps need to talk to the IdP, built once from the discovered
 * metadata and the config: the authorization server, the client, its authentication, the JWKS.
 */
export interface Idp {
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  /** Client authentication per endpoint (`CLIENT_AUTH_METHOD`). */
  readonly clientAuth: ClientAuthentication;
  /** `OKTA_USE_PAR`: push authorization requests to the discovered PAR endpoint. */
  readonly usePar: boolean;
  /** `API_TOKEN_TYPE=dpop`: sessions get a DPoP key; tokens are sender-constrained. */
  readonly useDpop: boolean;
  /** The IdP's signing keys, cached; jose refetches them when a token names an unknown `kid`. */
  readonly jwks: JWTVerifyGetKey;
  readonly redirectUri: string;
  readonly timeoutMs: number;
  readonly allowHttp: boolean;
  /** `fetch` for every call to this IdP: timed and traced (`ops/instrumented-fetch.ts`). */
  readonly fetch: IdpFetch;
}

/**
 * Options for every oauth4webapi request: a bounded time, plain `http:` only when the issuer is a
 * loopback host (the embedded dev IdP), and `idp.fetch` under `parent`, the trace context of the
 * request the call serves (none for work of no request: its span is a root).
 *
 * > [!WARNING]
 * > `allowInsecureRequests` is set here and nowhere else. `loadBffConfig` refuses `http:`
 * > issuers that are not loopback, so production traffic to Okta is always https.
 */
export function requestOptions(
  idp: Pick<Idp, 'timeoutMs' | 'allowHttp' | 'fetch'>,
  parent?: Context,
  timeoutMs = idp.timeoutMs,
): { signal: AbortSignal; [oauth.allowInsecureRequests]?: boolean; [oauth.customFetch]: typeof fetch } {
  const { fetch: idpFetch } = idp;
  const options: {
    signal: AbortSignal;
    [oauth.allowInsecureRequests]?: boolean;
    [oauth.customFetch]: typeof fetch;
  } = {
    signal: AbortSignal.timeout(timeoutMs),
    // A parent exists only with tracing on: only then is a function bound per call.
    [oauth.customFetch]: parent === undefined ? idpFetch : (input, init) => idpFetch(input, init, parent),
  };
  if (idp.allowHttp) options[oauth.allowInsecureRequests] = true;
  return options;
}

/**
 * Fetches and validates the issuer's discovery document: endpoints always come from here, never
 * from string concatenation (Okta's org server keeps them under `/oauth2/v1/`).
 *
 * @see OpenID Connect Discovery 1.0 §4; RFC 8414
 */
export async function discoverIdp(
  config: BffConfig,
  { metrics = NO_METRICS, tracing = TRACING_OFF }: { metrics?: Metrics; tracing?: Tracing } = {},
): Promise<Idp> {
  const issuer = new URL(config.issuer);
  let endpoints: ReadonlyMap<string, IdpCallKind> = new Map();
  const fetcher = instrumentedFetch(
    metrics,
    tracing,
    (url) =>
      endpoints.get(url.split('?')[0] ?? url) ?? (url.includes('/.well-known/') ? 'discovery' : 'other'),
  );
  const base = { timeoutMs: config.idpTimeoutMs, allowHttp: config.issuerIsLoopbackHttp, fetch: fetcher };
  const response = await oauth.discoveryRequest(issuer, { ...requestOptions(base), algorithm: 'oidc' });
  let as: oauth.AuthorizationServer;
  try {
    as = await oauth.processDiscoveryResponse(issuer, response);
  } catch (error) {
    if (error instanceof oauth.OperationProcessingError && error.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      throw new IdpMismatchError(
        `the IdP's discovery document names another issuer than ${config.issuer} (check OKTA_ISSUER / OKTA_DOMAIN: exact, no trailing slash)`,
        { cause: error },
      );
    }
    throw error;
  }
  if (!as.jwks_uri) throw new IdpMismatchError('the IdP metadata has no jwks_uri');
  if (config.usePar && !as.pushed_authorization_request_endpoint) {
    throw new IdpMismatchError(
      'OKTA_USE_PAR=true, but the IdP advertises no pushed_authorization_request_endpoint (Okta: the org needs PAR enabled)',
    );
  }
  endpoints = endpointKinds(as);
  return {
    as,
    client: {
      client_id: config.clientId,
      // Okta signs ID tokens with RS256; pinning it refuses `none` and HS256 (signed with our secret).
      id_token_signed_response_alg: 'RS256',
    },
    clientAuth: await createClientAuthentication(config, as),
    usePar: config.usePar,
    useDpop: config.apiTokenType === 'dpop',
    jwks: createRemoteJWKSet(new URL(as.jwks_uri), {
      timeoutDuration: config.idpTimeoutMs,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
      [joseCustomFetch]: jwksFetch(fetcher),
    }),
    redirectUri: config.redirectUrl,
    ...base,
  };
}

/**
 * Thrown when the JWKS endpoint answers anything but 200: jose would otherwise report a generic
 * error, indistinguishable from a token that does not verify, and a JWKS outage must not pass for
 * a forged token (which ends sessions).
 */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

function jwksFetch(fetcher: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await fetcher(input, init);
    if (response.status !== 200)
      throw new JwksUnavailableError(`the JWKS endpoint answered ${response.status}`);
    return response;
  };
}

/**
 * The IdP's metadata contradicts the configuration (no JWKS, no PAR endpoint while PAR is asked
 * for): retrying cannot help, so `pnpm start` stops with this message instead of waiting.
 */
export class IdpMismatchError extends TypeError {
  override readonly name = 'IdpMismatchError';
}

/** The discovered endpoints by the kind of call each serves (labels for metrics and spans). */
function endpointKinds(as: oauth.AuthorizationServer): ReadonlyMap<string, IdpCallKind> {
  const kinds = new Map<string, IdpCallKind>();
  const add = (url: string | undefined, kind: IdpCallKind) => {
    if (url) kinds.set(url, kind);
  };
  add(as.token_endpoint, 'token');
  add(as.userinfo_endpoint, 'userinfo');
  add(as.revocation_endpoint, 'revoke');
  add(as.jwks_uri, 'jwks');
  add(as.pushed_authorization_request_endpoint, 'par');
  return kinds;
}

export interface IdpLoader {
  /** The IdP once discovery succeeded, else `undefined` (the BFF is not ready). */
  current(): Idp | undefined;
  /** The IdP, or `ApiError` `idp_unavailable` (503) while discovery has not succeeded yet. */
  require(): Idp;
  /** Resolves when discovery first succeeds. */
  readonly ready: Promise<Idp>;
  stop(): void;
}

export interface IdpLoaderOptions {
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly onError?: (error: unknown, attempt: number) => void;
}

/**
 * Runs discovery in the background until it succeeds, backing off exponentially: an IdP that is
 * down at boot must not crash the BFF; `/readyz` and `/auth/login` answer 503 meanwhile.
 */
export function startIdpLoader(
  discover: () => Promise<Idp>,
  { initialDelayMs = 500, maxDelayMs = 30_000, onError }: IdpLoaderOptions = {},
): IdpLoader {
  let idp: Idp | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let resolveReady: (idp: Idp) => void = () => {};
  const ready = new Promise<Idp>((resolve) => {
    resolveReady = resolve;
  });
  const attempt = async (n: number): Promise<void> => {
    try {
      idp = await discover();
      resolveReady(idp);
    } catch (error) {
      onError?.(error, n);
      if (stopped) return;
      const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(n, 16));
      timer = setTimeout(() => void attempt(n + 1), delay);
      timer.unref();
    }
  };
  void attempt(0);
  return {
    current: () => idp,
    require: () => {
      if (!idp) {
        throw new ApiError(
          'idp_unavailable',
          'The identity provider is not reachable yet. Try again in a moment.',
        );
      }
      return idp;
    },
    ready,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
