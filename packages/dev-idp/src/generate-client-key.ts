/**
 * `pnpm exec tsx packages/dev-idp/src/generate-client-key.ts [ES256|RS256]`: prints a fresh key
 * pair for the dev IdP's secure client as the two variables that use it, ready for `.env`:
 * `CLIENT_PRIVATE_KEY` (the BFF signs its `private_key_jwt` assertions with it) and
 * `DEV_IDP_SECURE_CLIENT_JWKS` (the dev IdP verifies them with it). Nothing is written to disk.
 *
 * > [!WARNING]
 * > The output holds a private key. It is for the dev IdP only: never register it with a real
 * > Okta app, never commit it.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

const ALGORITHMS = ['ES256', 'RS256'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

function isAlgorithm(value: string): value is Algorithm {
  return (ALGORITHMS as readonly string[]).includes(value);
}

const requested = process.argv[2] ?? 'ES256';
if (!isAlgorithm(requested)) {
  console.error(`generate-client-key: algorithm must be one of ${ALGORITHMS.join(', ')}, got "${requested}"`);
  process.exit(2);
}

const { privateKey, publicKey } = await generateKeyPair(requested, { extractable: true });
const publicJwk = await exportJWK(publicKey);
const kid = await calculateJwkThumbprint(publicJwk);
const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: requested };
const jwks = { keys: [{ ...publicJwk, kid, alg: requested, use: 'sig' }] };

console.log(`CLIENT_PRIVATE_KEY='${JSON.stringify(privateJwk)}'`);
console.log(`DEV_IDP_SECURE_CLIENT_JWKS='${JSON.stringify(jwks)}'`);
