import type { IncomingHttpHeaders } from 'node:http';

/**
 * Header hygiene for the `/api` proxy, as plain functions over Node's header objects, and the
 * rules as tables with the reason beside each entry.
 */

/**
 * Hop-by-hop fields: they describe one connection, never the end-to-end message, and a proxy
 * must not forward them (RFC 9110 §7.6.1), nor any field its `Connection` header names.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings', // RFC 7540 §3.2.1: a connection-specific h2c field
]);

/**
 * Request fields the client must never get to the upstream: credentials (the BFF's bearer is the
 * only one), and anything an API or a proxy in front of it might trust for who the caller is, where
 * it connects from, or which path or method it "really" asked for. Exact names.
 */
const REQUEST_DROP_EXACT: ReadonlyMap<string, string> = new Map([
  ['host', 'set from the upstream URL; a client Host is a routing/cache-poisoning vector'],
  ['content-length', 'framing is written by the proxy from the parsed body (body-framing.ts), never copied'],
  ['expect', 'Node answered 100-continue before the proxy ran; the body streams as it arrives'],
  ['cookie', 'the BFF session is for the BFF; the upstream authenticates by bearer only'],
  ['authorization', 'replaced by the session access token (docs/http-contract.md)'],
  ['dpop', 'a client-supplied DPoP proof (RFC 9449) would bind to a key the BFF does not hold'],
  ['x-csrf', 'the anti-forgery header is between the SPA and the BFF'],
  ['x-api-key', 'a credential; the upstream trusts the bearer only'],
  ['x-request-id', 'set by the BFF (its own or a validated one)'],
  ['traceparent', 'W3C Trace Context from the public: the BFF starts the trace (and sets its own)'],
  ['tracestate', 'W3C Trace Context from the public, same reason'],
  ['baggage', 'W3C Baggage from the public: arbitrary key-values the API might trust'],
  ['forwarded', 'RFC 7239: client-supplied for/host/proto are spoofable; the BFF sets X-Forwarded-*'],
  ['x-real-ip', 'nginx-style client address, spoofable'],
  ['x-client-ip', 'client address, spoofable'],
  ['x-cluster-client-ip', 'client address, spoofable'],
  ['true-client-ip', 'Akamai/Cloudflare client address, spoofable'],
  ['fastly-client-ip', 'Fastly client address, spoofable'],
  ['x-originating-ip', 'client address, spoofable'],
  ['x-remote-ip', 'client address, spoofable'],
  ['x-remote-addr', 'client address, spoofable'],
  ['x-host', 'host override honoured by some frameworks (host header injection)'],
  ['x-http-host-override', 'host override honoured by some frameworks'],
  ['x-original-url', 'path override (IIS/Symfony; CVE-2018-14773): bypasses path rules'],
  ['x-rewrite-url', 'path override (IIS/Symfony; CVE-2018-14773): bypasses path rules'],
  ['x-http-method-override', 'method override: turns an allowed method into another'],
  ['x-http-method', 'method override'],
  ['x-method-override', 'method override'],
  ['x-remote-user', 'identity asserted by a trusted front proxy'],
  ['x-forwarded-user', 'oauth2-proxy identity header'],
  ['x-forwarded-email', 'oauth2-proxy identity header'],
  ['x-forwarded-access-token', 'oauth2-proxy token header'],
  ['x-client-cert', 'a TLS client certificate asserted by a terminating proxy'],
  ['x-client-verify', 'a TLS client verification result asserted by a terminating proxy'],
  ['x-client-dn', 'a TLS client identity asserted by a terminating proxy'],
  ['x-proxy-user', 'identity asserted by a front proxy'],
  ['gap-auth', 'identity asserted by google_auth_proxy (oauth2-proxy before its rename)'],
]);

/** The same, by prefix: whole families of identity and routing fields. */
const REQUEST_DROP_PREFIXES: readonly (readonly [string, string])[] = [
  ['x-forwarded-', 'X-Forwarded-* from the client is spoofable; the BFF sets For/Proto/Host itself'],
  ['x-original-', 'X-Original-Host/-URI/-Forwarded-For: routing/address overrides'],
  ['x-user', 'X-User, X-User-Id, X-Userinfo…: identity asserted by a gateway'],
  ['x-auth', 'X-Auth-Request-*, X-Auth-User, X-Authorization…: identity asserted by a gateway'],
  ['x-authenticated-', 'X-Authenticated-User/-Userid: identity asserted by a gateway'],
  ['x-remote-', 'X-Remote-User/-Group/-Email: identity asserted by a gateway'],
  ['x-amzn-oidc-', 'AWS ALB OIDC identity and token headers'],
  ['x-ms-client-principal', 'Azure App Service authentication identity'],
  ['x-ms-token-', 'Azure App Service authentication tokens'],
  ['x-goog-authenticated-user-', 'Google IAP identity headers'],
  ['x-envoy-', 'Envoy internal routing and identity headers (x-envoy-original-path…)'],
  ['cf-', 'Cloudflare-set fields (CF-Connecting-IP…), spoofable when not behind Cloudflare'],
  ['remote-', 'Remote-User/-Email/-Groups/-Name: identity asserted by a front proxy (Authelia, Apache)'],
  ['x-webauth-', 'X-WEBAUTH-USER…: identity asserted by an auth proxy (Grafana auth proxy)'],
  ['x-consumer-', 'X-Consumer-ID/-Username: identity asserted by an API gateway (Kong)'],
  ['x-pomerium-', 'Pomerium identity assertion and claim headers'],
  ['x-ssl-', 'X-SSL-Client-Cert/-Verify…: a TLS client identity asserted by a terminating proxy'],
  ['ssl-client', 'SSL-Client-Cert/-Verify: a TLS client identity asserted by a terminating proxy'],
  ['impersonate-', 'Impersonate-User/-Group: Kubernetes-style impersonation'],
  ['x-credential-', 'X-Credential-Identifier/-Username: identity asserted by an API gateway (Kong)'],
  ['x-arr-', 'X-ARR-ClientCert…: a TLS client identity asserted by Azure Application Request Routing'],
  ['x-endpoint-api-', 'X-Endpoint-API-UserInfo: identity asserted by Google Cloud Endpoints'],
  ['x-apigateway-', 'X-Apigateway-Api-Userinfo: identity asserted by Google API Gateway'],
  ['x-vouch-', 'X-Vouch-User…: identity asserted by Vouch Proxy'],
  ['x-hasura-', 'X-Hasura-Role/-User-Id…: session variables Hasura trusts from a gateway'],
];

/** Response fields the browser must never get from the upstream. */
const RESPONSE_DROP: ReadonlyMap<string, string> = new Map([
  ['set-cookie', 'the upstream must not plant cookies on the BFF origin'],
  ['set-cookie2', 'obsolete cookie field, same reason'],
]);
/** Response field prefixes dropped: the BFF origin grants no CORS. */
const RESPONSE_DROP_PREFIXES = ['access-control-'];

function connectionListed(headers: IncomingHttpHeaders): Set<string> | undefined {
  const value = headers.connection;
  // `keep-alive` and `close`, by far the most common values, name no other field.
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  return new Set(value.split(',').map((v) => v.trim().toLowerCase()));
}

/** The first two characters of a name, as one number. */
const headOf = (name: string) => (name.charCodeAt(0) << 16) | name.charCodeAt(1);
/** The heads of the prefixes above (`x-`, `cf`): a name with another head skips the prefix scan. */
const PREFIX_HEADS: ReadonlySet<number> = new Set(REQUEST_DROP_PREFIXES.map(([prefix]) => headOf(prefix)));

/** True when the client's request field `name` (lower case) must not reach the upstream. */
export function isDroppedRequestHeader(name: string): boolean {
  if (HOP_BY_HOP.has(name) || REQUEST_DROP_EXACT.has(name)) return true;
  // CGI, WSGI and PHP turn `-` and `_` (and some frameworks `.`) into the same variable name, so
  // `X_Forwarded_User` would reach such an API as `X-Forwarded-User`: no field with an underscore
  // or a dot is forwarded (nginx ignores underscored ones by default for the same reason;
  // standard fields never have either).
  if (name.includes('_') || name.includes('.')) return true;
  if (!PREFIX_HEADS.has(headOf(name))) return false;
  for (const [prefix] of REQUEST_DROP_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * Header fields as Node's `rawHeaders`: a flat list of names and values (`[name, value, name,
 * value, …]`). `http.request` and `writeHead` take it as it is, without the per-field object
 * work that a header object costs them (bench/FINDINGS.md).
 */
export type HeaderList = string[];
/**
 * The same for a response, where a value may be a list (`Set-Cookie`): one entry per name, so
 * that `writeHead` keeps every value even when a header was set before (it then calls
 * `setHeader` per entry, and a repeated name would replace the earlier one).
 */
export type ResponseHeaderList = (string | string[])[];

export interface ForwardedFor {
  /** The `X-Forwarded-For` chain the BFF believes (see `http/client-address.ts`). */
  readonly forwardedFor: string | undefined;
  readonly proto: string;
  /** The app's public host: `X-Forwarded-Host`. */
  readonly host: string;
  readonly requestId: string;
}

function pushField(out: HeaderList, name: string, value: string | string[] | undefined): void {
  if (value === undefined) return;
  if (typeof value === 'string') out.push(name, value);
  else for (const one of value) out.push(name, one);
}

/**
 * The headers to send upstream: `Host` (the upstream's, `upstreamHost`), then the client's, minus
 * the dropped ones (tables above) and those its `Connection` names; plus our own `Authorization`
 * (`Bearer …` or `DPoP …`, when the route sends a token), `X-Forwarded-For/Proto/Host` and the request id.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  upstreamHost: string,
  authorization: string | undefined,
  forwarded: ForwardedFor,
): HeaderList {
  const listed = connectionListed(incoming);
  const out: HeaderList = ['host', upstreamHost];
  for (const name in incoming) {
    if (isDroppedRequestHeader(name) || listed?.has(name)) continue;
    pushField(out, name, incoming[name]);
  }
  // A route with no token (`none`, or `user-optional` signed out) sends none: the client's was dropped above.
  if (authorization !== undefined) out.push('authorization', authorization);
  if (forwarded.forwardedFor) out.push('x-forwarded-for', forwarded.forwardedFor);
  out.push(
    'x-forwarded-proto',
    forwarded.proto,
    'x-forwarded-host',
    forwarded.host,
    'x-request-id',
    forwarded.requestId,
  );
  return out;
}

/**
 * The upstream's response headers to pass to the browser: minus hop-by-hop ones, cookies and CORS
 * grants; and `Cache-Control: no-store` when the upstream said nothing about caching, since the
 * answer is for one signed-in user and no shared cache may keep it.
 *
 * @see RFC 9111 §3 (a shared cache may store a response without Cache-Control by heuristics)
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders): ResponseHeaderList {
  const listed = connectionListed(upstream);
  const out: ResponseHeaderList = [];
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name) || RESPONSE_DROP.has(name) || listed?.has(name)) continue;
    if (RESPONSE_DROP_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    const value = upstream[name];
    if (value !== undefined) out.push(name, value);
  }
  if (upstream['cache-control'] === undefined) out.push('cache-control', 'no-store');
  return out;
}

/** The fields of a header list as an object (the last value of a repeated name wins): for tests. */
export function headerListToObject(list: ResponseHeaderList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) out[list[i] as string] = list[i + 1] as string | string[];
  return out;
}
