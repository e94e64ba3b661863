import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { DPOP_SIGNING_ALGS } from './client-security.ts';
import { createDpopProofVerifier, decodeDpopProof } from './dpop-proof.ts';
import {
  createDpopCaseKeys,
  DPOP_CASE_NOW_MS,
  DPOP_PROOF_CASES,
  type DpopCaseKeys,
  type DpopCaseOutcome,
  type DpopCaseRequest,
} from './testing/index.ts';

let keys: DpopCaseKeys;
beforeAll(async () => {
  keys = await createDpopCaseKeys();
});

/** The verifier as the IdP builds it for `/v1/userinfo`, reading the cases' clock. */
const createVerifier = () =>
  createDpopProofVerifier({ algorithms: DPOP_SIGNING_ALGS, now: () => DPOP_CASE_NOW_MS });

/**
 * What `/v1/userinfo` makes of a request: a proof it accepts, of the key the token is bound to
 * (`userinfo.ts` compares the thumbprint the verifier returns with the token's `cnf.jkt`).
 */
async function outcome(
  verify: ReturnType<typeof createVerifier>,
  { jkt, ...request }: DpopCaseRequest,
): Promise<DpopCaseOutcome> {
  const result = await verify(request);
  if (!result.ok) expect(result.reason).toMatch(/\S/);
  return result.ok && result.jkt === jkt ? 'accepted' : 'refused';
}

describe('the dev IdP’s DPoP proof verifier (the cases shared with the sample API)', () => {
  it.each(DPOP_PROOF_CASES)('%s', async (_, dpopCase) => {
    const verify = createVerifier();
    const steps = await dpopCase.steps(keys);
    const outcomes: DpopCaseOutcome[] = [];
    for (const step of steps) outcomes.push(await outcome(verify, step.request));
    expect(outcomes).toEqual(steps.map((step) => step.expected));
  });
});

describe('the dev IdP’s DPoP proof verifier (its own configuration)', () => {
  const url = 'https://rs.example/userinfo';
  const accessToken = 'a-token';

  async function proofSignedWith(alg: 'ES384' | 'PS256'): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    return new SignJWT({
      jti: alg,
      htm: 'GET',
      htu: url,
      iat: Math.floor(DPOP_CASE_NOW_MS / 1000),
      ath: createHash('sha256').update(accessToken).digest('base64url'),
    })
      .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
  }

  it.each([
    ['accepts ES384, which Okta accepts too', 'ES384', true],
    ['refuses PS256, which it does not list', 'PS256', false],
  ] as const)('%s', async (_, alg, ok) => {
    const result = await createVerifier()({
      proof: await proofSignedWith(alg),
      method: 'GET',
      url,
      accessToken,
    });
    expect(result.ok).toBe(ok);
  });
});

describe('decodeDpopProof', () => {
  it('keeps what the event record needs and nothing replayable', async () => {
    const proof = await keys.es256.proof({ claims: { nonce: 'n' } });
    expect(await decodeDpopProof(proof)).toEqual({
      jkt: keys.es256.jkt,
      htm: 'POST',
      htu: 'https://rs.example/items',
      hadNonce: true,
      hadAth: true,
    });
  });

  it('gives every field empty for a value that does not decode', async () => {
    expect(await decodeDpopProof('not-a-jwt')).toEqual({
      jkt: undefined,
      htm: undefined,
      htu: undefined,
      hadNonce: false,
      hadAth: false,
    });
  });
});
