import type { Context } from '@opentelemetry/api';
import { isTimeoutError } from '../errors.ts';
import { idpHttpFetch } from '../oidc/idp-http.ts';
import type { IdpCallKind, IdpOutcome, Metrics } from './metrics.ts';
import { clientSpanAttributes, inClientSpan, recordClientResponse, type Tracing } from './tracing.ts';

/**
 * `fetch`, plus the trace parent of the request a call serves: its client span is that request's
 * child (a root span without one). oauth4webapi calls its `customFetch` with two arguments, so
 * `requestOptions` (`oidc/idp.ts`) binds the third.
 */
export type IdpFetch = (
  input: Parameters<typeof fetch>[0],
  init?: RequestInit,
  parent?: Context,
) => Promise<Response>;

/**
 * `fetch` for the IdP calls (oauth4webapi's and jose's `customFetch`, over
 * {@link idpHttpFetch}): each call is timed into
 * `bff_idp_request_duration_seconds` by kind and outcome, and, with tracing on, wrapped in a
 * client span with OpenTelemetry's HTTP client attributes, under `parent` when given. `kindOf`
 * names the call from its URL (the discovered endpoints), so no metric label holds a URL; the
 * span's `url.full` has no query string (a userinfo or revocation URL may carry a token, a
 * callback-bound one a code or state).
 */
export function instrumentedFetch(
  metrics: Metrics,
  tracing: Tracing,
  kindOf: (url: string) => IdpCallKind,
): IdpFetch {
  return async function idpFetch(input, init, parent) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const kind = kindOf(url);
    const method = init?.method ?? 'GET';
    const start = performance.now();
    let outcome: IdpOutcome = 'error';
    try {
      return await inClientSpan(
        tracing,
        parent,
        `${method} idp ${kind}`,
        tracing.enabled ? { ...clientSpanAttributes(method, new URL(url)), 'bff.idp_call': kind } : {},
        async (span) => {
          const response = await idpHttpFetch(input, init);
          outcome = response.status >= 500 ? '5xx' : response.status >= 400 ? '4xx' : 'ok';
          if (span) recordClientResponse(span, response.status);
          return response;
        },
      );
    } catch (error) {
      outcome = isTimeoutError(error) ? 'timeout' : 'error';
      throw error;
    } finally {
      metrics.observeIdp(kind, outcome, (performance.now() - start) / 1000);
    }
  };
}
