import {
  createHash,
  createPrivateKey,
  type JsonWebKeyInput,
  type KeyObject,
  randomUUID,
  sign,
} from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
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

/**
 * What the proofs for one session's access token share, prepared once: the private key as a Node
 * `KeyObject`, the proof's protected header (with the public JWK) encoded, and `ath`.
 */
export interface ProofKey {
  readonly privateKey: KeyObject;
  /** base64url of `{"alg":"ES256","typ":"dpop+jwt","jwk":{…public…}}`. */
  readonly encodedHeader: string;
  /** base64url(SHA-256(access token)), RFC 9449 §4.2. */
  readonly ath: string;
}

export function proofKeyOf(jwk: DpopKey, accessToken: string): ProofKey {
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  return {
    ath: createHash('sha256').update(accessToken).digest('base64url'),
    privateKey: createPrivateKey({ key: { ...jwk } as JsonWebKeyInput['key'], format: 'jwk' }),
    encodedHeader: Buffer.from(JSON.stringify({ alg: ALG, typ: 'dpop+jwt', jwk: publicJwk })).toString(
      'base64url',
    ),
  };
}

/**
 * A DPoP proof for a resource request with the access token `key` was prepared for: `htm`, `htu`
 * (no query, no fragment), `iat`, a fresh `jti`, `ath` and the server's `nonce` when it gave one.
 *
 * This is the one JWS the BFF assembles itself, because it is made on every proxied request:
 * jose's `SignJWT` signs through WebCrypto's asynchronous API, 111 µs a proof on the development
 * machine, where Node's synchronous `crypto.sign` takes 27 µs (bench/FINDINGS.md). The signature
 * is ECDSA P-256 with SHA-256 in the JWS (IEEE P1363) encoding, RFC 7518 §3.4; the tests verify
 * every proof with jose.
 *
 * @see RFC 9449 §4.2, §7.1; RFC 7515 §7.1 (compact serialization)
 */
export function createDpopProof(
  key: ProofKey,
  request: { readonly method: string; readonly url: string; readonly nonce?: string },
): string {
  const claims = {
    htm: request.method,
    htu: request.url,
    ath: key.ath,
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
  };
  const input = `${key.encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
