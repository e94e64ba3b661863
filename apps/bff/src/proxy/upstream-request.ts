import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamToken } from '../auth/client-tokens.ts';
import { createDpopProof, type ProofKey } from '../oidc/dpop.ts';
import { type BodyFraming, pushFramingField } from './body-framing.ts';
import { type ForwardedFor, type HeaderList, upstreamRequestHeaders } from './headers.ts';
import type { ParsedApiRequest } from './parse-request.ts';
import type { Upstream } from './upstream.ts';
import { resolveUpstreamPath } from './upstream-path.ts';

/**
 * The build step of an `/api` request: what will be sent upstream, from the parsed request, the
 * route's upstream and the admitted token. Plain values; the exchange step sends it.
 */
export interface UpstreamRequestPlan {
  readonly upstream: Upstream;
  readonly method: string;
  /** Path and query as the upstream receives them. */
  readonly target: string;
  /** The path alone: with the upstream's origin, a DPoP proof's `htu` and a client span's `url.full`. */
  readonly path: string;
  readonly framing: BodyFraming;
  /** `Bearer …`, `DPoP …`, or `undefined`: the route sends no token. */
  readonly authorization: string | undefined;
  /** With a DPoP-bound token: the key each attempt's proof is signed with. */
  readonly proofKey: ProofKey | undefined;
}

/** The plan, or why the path is refused. */
export type BuiltRequest = UpstreamRequestPlan | { readonly refused: string };

/**
 * The upstream path is the route's base path joined with the rest of the client's path, refused
 * when it could climb out of the base (`upstream-path.ts`).
 */
export function buildUpstreamRequest(
  upstream: Upstream,
  parsed: ParsedApiRequest,
  rest: string,
  token: UpstreamToken | undefined,
  proofKeyFor: (token: UpstreamToken) => ProofKey,
): BuiltRequest {
  const resolved = resolveUpstreamPath(upstream.basePath, rest);
  if (!resolved.ok) return { refused: resolved.reason };
  const proofKey = token?.dpopKey ? proofKeyFor(token) : undefined;
  return {
    upstream,
    method: parsed.method,
    target: parsed.query === '' ? resolved.path : `${resolved.path}${parsed.query}`,
    path: resolved.path,
    framing: parsed.framing,
    authorization: token === undefined ? undefined : `${proofKey ? 'DPoP' : 'Bearer'} ${token.accessToken}`,
    proofKey,
  };
}

/**
 * One attempt's header list: the header table's (`headers.ts`), our own framing field, and a
 * fresh DPoP proof (with the API's nonce, when it gave one).
 */
export function attemptHeaders(
  plan: UpstreamRequestPlan,
  incoming: IncomingHttpHeaders,
  forwarded: ForwardedFor,
  nonce: string | undefined,
): HeaderList {
  const headers = upstreamRequestHeaders(incoming, plan.upstream.host, plan.authorization, forwarded);
  pushFramingField(headers, plan.framing, plan.method);
  if (plan.proofKey) {
    headers.push(
      'dpop',
      createDpopProof(plan.proofKey, {
        method: plan.method,
        url: `${plan.upstream.origin}${plan.path}`,
        ...(nonce === undefined ? {} : { nonce }),
      }),
    );
  }
  return headers;
}
