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
