/**
 * One table of DPoP proof checks at a protected resource (RFC 9449 §4.3, §7.1), run by the tests
 * of both verifiers in this repository: the sample API's (`apps/api/src/dpop-proof.ts`) and the
 * dev IdP's, for its own `/v1/userinfo` (`packages/dev-idp/src/dpop-proof.ts`). They are two
 * implementations (the API must not depend on the dev IdP), so this table is what keeps them one
 * behaviour: a case added here is checked against both.
 *
 * Each case is a short sequence of requests sent to one fresh verifier, with the outcome each must
 * get. The verifiers are read with a fixed clock, {@link DPOP_CASE_NOW_MS}, so that the edges of
 * the acceptance window are exact. What only one verifier has (the API's server nonces and its
 * configured public URL; each one's list of algorithms beyond ES256 and RS256) stays in its own
 * tests.
 *
 * The common policy the table pins down:
 * - `typ` is exactly `dpop+jwt` (§4.2, §4.3 check 4). JWS would let a recipient read
 *   `application/dpop+jwt` as the same media type (RFC 7515 §4.1.9), and jose's `typ` option
 *   does; RFC 9449 instead names the one value a proof carries and the one value checked, every
 *   conforming client sends it, and an exact comparison leaves nothing to normalise. So the long
 *   form, and any other spelling, is refused.
 * - `iat` at most {@link DPOP_CASE_MAX_AGE_S} old and at most {@link DPOP_CASE_CLOCK_SKEW_S} ahead.
 * - `jti` a non-empty string of at most 256 characters, used once per key (§11.1): a `jti` that
 *   another key used does not block this one.
 * - `htu` compared after RFC 3986 §6.2.2/§6.2.3 normalisation, ignoring query and fragment (§4.3
 *   check 9); an absolute `http(s)` URL without user information.
 * - The key in `jwk` is public, signed the proof, and is the key the token is bound to (§7.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';

/** The verifiers' clock in every case: a fixed instant, so window edges are exact. */
export const DPOP_CASE_NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 0);
/** Oldest `iat` accepted, in seconds before now. */
export const DPOP_CASE_MAX_AGE_S = 300;
/** Furthest `iat` accepted, in seconds after now (clients whose clock is ahead). */
export const DPOP_CASE_CLOCK_SKEW_S = 60;

const NOW_S = Math.floor(DPOP_CASE_NOW_MS / 1000);
const METHOD = 'POST';
const URL_CALLED = 'https://rs.example/items';
const ACCESS_TOKEN = 'an-access-token-the-verifier-only-hashes';

/** One request to a verifier. */
export interface DpopCaseRequest {
  /** The `DPoP` header value. */
  readonly proof: string;
  readonly method: string;
  /** The URL called, without query or fragment. */
  readonly url: string;
  /** The access token sent with the proof (its hash is `ath`). */
  readonly accessToken: string;
  /** The thumbprint the access token is bound to (`cnf.jkt`). */
  readonly jkt: string;
}

export type DpopCaseOutcome = 'accepted' | 'refused';

/** One request and what it must get. */
export interface DpopCaseStep {
  readonly request: DpopCaseRequest;
  readonly expected: DpopCaseOutcome;
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** A client key that signs proofs; every claim and header member can be replaced or dropped. */
export interface DpopCaseKey {
  readonly privateKey: SigningKey;
  readonly publicJwk: JWK;
  readonly jkt: string;
  /** A proof for {@link URL_CALLED}; a member set to `undefined` is dropped. */
  proof(overrides?: ProofOverrides): Promise<string>;
}

interface ProofOverrides {
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  /** Signs with this key (the header still shows the proof key's public JWK). */
  readonly signWith?: SigningKey;
}

/** The keys every case draws on, made per run: call it in `beforeAll`. */
export interface DpopCaseKeys {
  readonly es256: DpopCaseKey;
  readonly rs256: DpopCaseKey;
  /** A second client's key. */
  readonly other: DpopCaseKey;
}

const dropUndefined = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));

async function createCaseKey(alg: 'ES256' | 'RS256'): Promise<DpopCaseKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    privateKey,
    publicJwk,
    jkt: await calculateJwkThumbprint(publicJwk, 'sha256'),
    proof({ claims = {}, header = {}, signWith } = {}) {
      const payload = dropUndefined({
        jti: randomUUID(),
        htm: METHOD,
        htu: URL_CALLED,
        iat: NOW_S,
        ath: createHash('sha256').update(ACCESS_TOKEN).digest('base64url'),
        ...claims,
      });
      const protectedHeader = dropUndefined({ alg, typ: 'dpop+jwt', jwk: publicJwk, ...header });
      return new SignJWT(payload as JWTPayload)
        .setProtectedHeader(protectedHeader as JWTHeaderParameters)
        .sign(signWith ?? privateKey);
    },
  };
}

export async function createDpopCaseKeys(): Promise<DpopCaseKeys> {
  const [es256, rs256, other] = await Promise.all([
    createCaseKey('ES256'),
    createCaseKey('RS256'),
    createCaseKey('ES256'),
  ]);
  return { es256, rs256, other };
}

/** One case: a name, and the requests it sends to a fresh verifier. */
export interface DpopProofCase {
  readonly name: string;
  steps(keys: DpopCaseKeys): Promise<readonly DpopCaseStep[]>;
}

const request = (proof: string, key: DpopCaseKey): DpopCaseRequest => ({
  proof,
  method: METHOD,
  url: URL_CALLED,
  accessToken: ACCESS_TOKEN,
  jkt: key.jkt,
});

/** A one-request case: a proof made by `es256` with `overrides`, for a token bound to `es256`. */
const single =
  (expected: DpopCaseOutcome, overrides: ProofOverrides = {}) =>
  async ({ es256 }: DpopCaseKeys): Promise<DpopCaseStep[]> => [
    { request: request(await es256.proof(overrides), es256), expected },
  ];

const part = (value: unknown) => base64url.encode(JSON.stringify(value));

/** Cases every verifier must accept. */
export const ACCEPTED_DPOP_PROOF_CASES: readonly DpopProofCase[] = [
  { name: 'a fresh ES256 proof', steps: single('accepted') },
  {
    name: 'a fresh RS256 proof',
    steps: async ({ rs256 }) => [{ request: request(await rs256.proof(), rs256), expected: 'accepted' }],
  },
  {
    name: 'an htu equal after normalisation (case, default port, percent-encoding)',
    steps: single('accepted', { claims: { htu: 'HTTPS://RS.Example:443/%69tems' } }),
  },
  {
    name: 'an htu with a query and a fragment, which are ignored',
    steps: single('accepted', { claims: { htu: `${URL_CALLED}?page=2#top` } }),
  },
  {
    name: `an iat exactly ${DPOP_CASE_MAX_AGE_S} s old`,
    steps: single('accepted', { claims: { iat: NOW_S - DPOP_CASE_MAX_AGE_S } }),
  },
  {
    name: `an iat exactly ${DPOP_CASE_CLOCK_SKEW_S} s ahead`,
    steps: single('accepted', { claims: { iat: NOW_S + DPOP_CASE_CLOCK_SKEW_S } }),
  },
  { name: 'a jti of 256 characters', steps: single('accepted', { claims: { jti: 'j'.repeat(256) } }) },
  {
    name: 'two keys that happen to use the same jti',
    steps: async ({ es256, other }) => [
      { request: request(await es256.proof({ claims: { jti: 'shared' } }), es256), expected: 'accepted' },
      { request: request(await other.proof({ claims: { jti: 'shared' } }), other), expected: 'accepted' },
    ],
  },
];

/** Cases every verifier must refuse (the last step of each). */
export const REFUSED_DPOP_PROOF_CASES: readonly DpopProofCase[] = [
  // The header (§4.3 checks 1-7).
  {
    name: 'a value that is not a JWT',
    steps: async ({ es256 }) => [{ request: request('not-a-jwt', es256), expected: 'refused' }],
  },
  {
    name: 'two proofs in one header',
    steps: async ({ es256 }) => [
      {
        request: request(`${await es256.proof()}, ${await es256.proof()}`, es256),
        expected: 'refused',
      },
    ],
  },
  { name: 'typ JWT', steps: single('refused', { header: { typ: 'JWT' } }) },
  { name: 'typ application/dpop+jwt', steps: single('refused', { header: { typ: 'application/dpop+jwt' } }) },
  { name: 'typ DPOP+JWT', steps: single('refused', { header: { typ: 'DPOP+JWT' } }) },
  { name: 'no typ', steps: single('refused', { header: { typ: undefined } }) },
  {
    name: 'alg none',
    steps: async ({ es256 }) => {
      const header = { alg: 'none', typ: 'dpop+jwt', jwk: es256.publicJwk };
      const claims = { jti: 'unsigned', htm: METHOD, htu: URL_CALLED, iat: NOW_S };
      return [{ request: request(`${part(header)}.${part(claims)}.`, es256), expected: 'refused' }];
    },
  },
  {
    name: 'an HMAC (HS256) keyed with a shared secret',
    steps: async ({ es256 }) => {
      const proof = await new SignJWT({ jti: 'hmac', htm: METHOD, htu: URL_CALLED, iat: NOW_S })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: es256.publicJwk })
        .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes'));
      return [{ request: request(proof, es256), expected: 'refused' }];
    },
  },
  { name: 'no jwk header', steps: single('refused', { header: { jwk: undefined } }) },
  {
    name: 'a private key in the jwk header',
    steps: async ({ es256 }) => [
      {
        request: request(await es256.proof({ header: { jwk: await exportJWK(es256.privateKey) } }), es256),
        expected: 'refused',
      },
    ],
  },
  {
    name: 'a jwk header that is not the key that signed',
    steps: async ({ es256, other }) => [
      { request: request(await es256.proof({ signWith: other.privateKey }), es256), expected: 'refused' },
    ],
  },
  // The claims (§4.3 checks 8-12).
  { name: 'another method (htm)', steps: single('refused', { claims: { htm: 'GET' } }) },
  { name: 'a lower-case htm', steps: single('refused', { claims: { htm: 'post' } }) },
  { name: 'another path (htu)', steps: single('refused', { claims: { htu: 'https://rs.example/other' } }) },
  { name: 'another host (htu)', steps: single('refused', { claims: { htu: 'https://evil.example/items' } }) },
  { name: 'another scheme (htu)', steps: single('refused', { claims: { htu: 'http://rs.example/items' } }) },
  { name: 'a relative htu', steps: single('refused', { claims: { htu: '/items' } }) },
  {
    name: 'an htu with user information',
    steps: single('refused', { claims: { htu: 'https://user@rs.example/items' } }),
  },
  { name: 'no htu', steps: single('refused', { claims: { htu: undefined } }) },
  { name: 'no jti', steps: single('refused', { claims: { jti: undefined } }) },
  { name: 'an empty jti', steps: single('refused', { claims: { jti: '' } }) },
  { name: 'a jti that is a number', steps: single('refused', { claims: { jti: 42 } }) },
  { name: 'a jti of 257 characters', steps: single('refused', { claims: { jti: 'j'.repeat(257) } }) },
  { name: 'no iat', steps: single('refused', { claims: { iat: undefined } }) },
  { name: 'an iat that is not a number', steps: single('refused', { claims: { iat: 'now' } }) },
  {
    name: `an iat ${DPOP_CASE_MAX_AGE_S + 1} s old`,
    steps: single('refused', { claims: { iat: NOW_S - DPOP_CASE_MAX_AGE_S - 1 } }),
  },
  {
    name: `an iat ${DPOP_CASE_CLOCK_SKEW_S + 1} s ahead`,
    steps: single('refused', { claims: { iat: NOW_S + DPOP_CASE_CLOCK_SKEW_S + 1 } }),
  },
  { name: 'an exp in the past', steps: single('refused', { claims: { exp: NOW_S - 120 } }) },
  // The token binding (§7.1): ath, and the key.
  { name: 'no ath', steps: single('refused', { claims: { ath: undefined } }) },
  {
    name: 'the ath of another access token',
    steps: single('refused', { claims: { ath: base64url.encode(new Uint8Array(32)) } }),
  },
  {
    name: 'a proof by a key the token is not bound to',
    steps: async ({ es256, other }) => [
      { request: { ...request(await other.proof(), other), jkt: es256.jkt }, expected: 'refused' },
    ],
  },
  // Replay (§11.1).
  {
    name: 'the same proof twice',
    steps: async ({ es256 }) => {
      const proof = await es256.proof();
      return [
        { request: request(proof, es256), expected: 'accepted' },
        { request: request(proof, es256), expected: 'refused' },
      ];
    },
  },
  {
    name: 'a new proof that reuses the jti of an accepted one',
    steps: async ({ es256 }) => [
      { request: request(await es256.proof({ claims: { jti: 'once' } }), es256), expected: 'accepted' },
      {
        request: request(await es256.proof({ claims: { jti: 'once', iat: NOW_S - 1 } }), es256),
        expected: 'refused',
      },
    ],
  },
];

/** Every case, for `it.each`: `[name, case]`. */
export const DPOP_PROOF_CASES: readonly (readonly [string, DpopProofCase])[] = [
  ...ACCEPTED_DPOP_PROOF_CASES,
  ...REFUSED_DPOP_PROOF_CASES,
].map((c) => [c.name, c] as const);
