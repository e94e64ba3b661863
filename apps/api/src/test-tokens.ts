/**
 * Test support (not shipped: nothing in `server.ts` imports it): a throw-away RS256 signing key,
 * its local JWKS, and a token factory whose every claim a test can override or drop; and DPoP
 * client keys that sign proofs the way a client (the BFF) does, every claim and header overridable.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
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

/** What a DPoP proof is made for. */
export interface ProofTarget {
  method: string;
  /** The URL called; query and fragment are dropped for `htu` as a client does. */
  url: string;
  /** The access token sent with the proof (for `ath`). */
  accessToken: string;
}

export interface ProofOverrides {
  /** Claims replacing the defaults; a claim set to `undefined` is dropped. */
  claims?: JWTPayload;
  /** Protected header members replacing the defaults (`typ`, `alg`, `jwk`). */
  header?: Partial<JWTHeaderParameters> & Record<string, unknown>;
  /** Signs with this key instead (the header still shows this key's public JWK). */
  key?: SigningKey;
}

export interface TestDpopKey {
  alg: string;
  privateKey: SigningKey;
  publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of `publicJwk`: the `cnf.jkt` of tokens bound to this key. */
  jkt: string;
  /** Signs a DPoP proof for `target`: fresh `jti`, `iat` now, `ath` of the token. */
  proof(target: ProofTarget, overrides?: ProofOverrides): Promise<string>;
}

/** A client's DPoP key pair, made per call: call it in `beforeAll`, never commit a key. */
export async function createDpopKey(
  alg: 'ES256' | 'RS256' | 'PS256' | 'EdDSA' = 'ES256',
): Promise<TestDpopKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    alg,
    privateKey,
    publicJwk,
    jkt: await calculateJwkThumbprint(publicJwk, 'sha256'),
    async proof(target, overrides = {}) {
      const htu = new URL(target.url);
      htu.search = '';
      htu.hash = '';
      const payload: JWTPayload = {
        jti: randomUUID(),
        htm: target.method,
        htu: htu.href,
        iat: Math.floor(Date.now() / 1000),
        ath: createHash('sha256').update(target.accessToken).digest('base64url'),
        ...overrides.claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      const header: Record<string, unknown> = { alg, typ: 'dpop+jwt', jwk: publicJwk, ...overrides.header };
      for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
      return new SignJWT(payload)
        .setProtectedHeader(header as JWTHeaderParameters)
        .sign(overrides.key ?? privateKey);
    },
  };
}

/** `Authorization` and `DPoP` headers for a DPoP-bound token and its proof. */
export function dpop(token: string, proof: string): { authorization: string; dpop: string } {
  return { authorization: `DPoP ${token}`, dpop: proof };
}
