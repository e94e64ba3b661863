import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';

/**
 * DPoP (RFC 9449): each session has its own ES256 key pair, generated at sign-in, whose private
 * JWK is sealed with the session (never in a log or a response). The IdP binds the session's
 * access and refresh tokens to it (`cnf.jkt`); the BFF proves possession on every IdP call and
 * every `/api` call with a fresh proof.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449.html
 */

/** A session's DPoP key: the private JWK (with its public members). */
export type DpopKey = Readonly<JWK>;

const ALG = 'ES256';

export async function generateDpopKey(): Promise<DpopKey> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  return Object.freeze(await exportJWK(privateKey));
}

/** The key as a CryptoKey pair, for oauth4webapi's `DPoP()` handle and for proofs. */
export async function importDpopKey(jwk: DpopKey): Promise<CryptoKeyPair> {
  const { d: _d, ...publicJwk } = jwk;
  const [privateKey, publicKey] = await Promise.all([
    importJWK({ ...jwk, alg: ALG }, ALG, { extractable: false }) as Promise<CryptoKey>,
    importJWK({ ...publicJwk, alg: ALG }, ALG, { extractable: true }) as Promise<CryptoKey>,
  ]);
  return { privateKey, publicKey };
}

/** oauth4webapi's DPoP handle for IdP calls (it signs proofs and remembers the IdP's nonces). */
export async function dpopHandle(client: oauth.Client, jwk: DpopKey): Promise<oauth.DPoPHandle> {
  return oauth.DPoP(client, await importDpopKey(jwk));
}

/**
 * Runs an IdP call that sends a DPoP proof, and once more if the IdP answers `use_dpop_nonce`
 * (RFC 9449 §8): the handle has then learned the nonce. Never a loop: a second nonce error is thrown.
 */
export async function withDpopNonceRetry<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return call();
  }
}

/** A proof key ready for the hot path: the private CryptoKey and the public JWK for the header. */
export interface ProofKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function proofKeyOf(jwk: DpopKey): Promise<ProofKey> {
  const { d: _d, ...publicJwk } = jwk;
  const privateKey = (await importJWK({ ...jwk, alg: ALG }, ALG, { extractable: false })) as CryptoKey;
  return {
    privateKey,
    publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y } as JWK,
  };
}

/**
 * A DPoP proof for a resource request: `htm`, `htu` (no query, no fragment), `iat`, a fresh `jti`,
 * `ath` (the access token's SHA-256) and the server's `nonce` when it gave one.
 *
 * @see RFC 9449 §4.2, §7.1
 */
export function createDpopProof(
  key: ProofKey,
  request: {
    readonly method: string;
    readonly url: string;
    readonly accessToken: string;
    readonly nonce?: string;
  },
): Promise<string> {
  return new SignJWT({
    htm: request.method,
    htu: request.url,
    ath: createHash('sha256').update(request.accessToken).digest('base64url'),
    jti: randomUUID(),
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
  })
    .setProtectedHeader({ alg: ALG, typ: 'dpop+jwt', jwk: key.publicJwk })
    .setIssuedAt()
    .sign(key.privateKey);
}
