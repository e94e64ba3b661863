/**
 * The embedded development IdP's well-known values. They live here, not in `@okta-bff/dev-idp`,
 * so the config loader can default to them in development without depending on the IdP.
 *
 * > [!WARNING]
 * > These are public, development-only credentials. The config loader uses them only in
 * > development mode (`pnpm dev`); production requires real `CLIENT_ID` and `CLIENT_SECRET`.
 */
export const DEV_IDP = Object.freeze({
  port: 9000,
  issuerPath: '/oauth2/default',
  issuer: 'http://localhost:9000/oauth2/default',
  clientId: '0oadevbffclient0000',
  clientSecret: 'dev-only-client-secret-not-for-production-use',
  /** The second dev client: `private_key_jwt` (no secret), DPoP-bound tokens, PAR allowed. */
  secureClientId: '0oadevbffsecure0000',
  audience: 'api://default',
});

export const DEFAULT_REDIRECT_URL = 'http://localhost:8000/authorization-code/callback';
export const DEFAULT_API_UPSTREAM_URL = 'http://localhost:8001';

/**
 * `API_ROUTES` under `pnpm dev` when neither it nor `API_UPSTREAM_URL` is set: the sample API's
 * services, one per token policy it demonstrates. `/api/<anything else>` is 404 `no_route`.
 */
export const DEV_API_ROUTES = JSON.stringify([
  { name: 'items', prefix: '/api/items', upstream: 'http://localhost:8001/items' },
  { name: 'live', prefix: '/api/live', upstream: 'http://localhost:8001/live', websocket: true },
  { name: 'public', prefix: '/api/public', upstream: 'http://localhost:8001/public', token: 'none' },
  {
    name: 'stats',
    prefix: '/api/stats',
    upstream: 'http://localhost:8001/stats',
    token: 'client',
    scopes: ['items:stats'],
  },
]);
