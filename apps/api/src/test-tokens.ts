/**
 * Test support (not shipped: nothing in `server.ts` imports it): a throw-away RS256 signing key,
 * its local JWKS, and a token factory whose every claim a test can override or drop.
 */
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';

export const TEST_ISSUER = 'https://idp.example.test/oauth2/default';
export const TEST_AUDIENCE = 'api://default';
export const TEST_KID = 'test-key-1';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface TestIssuer {
  jwks: JWTVerifyGetKey;
  /** The public key set, as a `/v1/keys` endpoint would serve it. */
  jwkSet: { keys: JWK[] };
  privateKey: SigningKey;
  /** Signs an access token; `claims` override the defaults, and a claim set to `undefined` is dropped. */
  signAccessToken(claims?: JWTPayload, options?: { key?: SigningKey; kid?: string }): Promise<string>;
}

/** Creates a key pair per call: call it in `beforeAll`, never commit a key. */
export async function createTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: TEST_KID, alg: 'RS256', use: 'sig' };
  const jwkSet = { keys: [jwk] };
  return {
    jwks: createLocalJWKSet(jwkSet),
    jwkSet,
    privateKey,
    async signAccessToken(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        iss: TEST_ISSUER,
        aud: TEST_AUDIENCE,
        sub: 'alice@example.com',
        iat: now,
        exp: now + 300,
        scp: ['openid', 'profile'],
        cid: 'test-client',
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? TEST_KID })
        .sign(options.key ?? privateKey);
    },
  };
}

/** `Authorization` header value for a token. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
