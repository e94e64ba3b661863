/**
 * Prints the public JWK to register in Okta for `CLIENT_AUTH_METHOD=private_key_jwt`, with exactly
 * the `kid` the BFF sends in its client assertions: `CLIENT_PRIVATE_KEY_ID`, else the JWK's own
 * `kid`, else none (a PEM without `CLIENT_PRIVATE_KEY_ID`: the IdP then tries each of its keys).
 *
 *   CLIENT_PRIVATE_KEY="$(cat key.pem)" pnpm tsx scripts/public-jwk.ts   # the public half of your key
 *   pnpm tsx scripts/public-jwk.ts --generate                            # a new ES256 key pair
 *
 * With `--generate`, the private JWK (its `kid` the RFC 7638 thumbprint, unless
 * `CLIENT_PRIVATE_KEY_ID` names another) goes to stderr, for `CLIENT_PRIVATE_KEY` in your secret
 * store; stdout gets only the public JWK, for Okta (the app's *Client authentication* → *Public
 * key / Private key* → *Add key*). When Okta generated the key pair, set `CLIENT_PRIVATE_KEY_ID`
 * to the `kid` it shows.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { parseClientPrivateKey } from '../packages/oidc/src/config.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

const keyId = process.env.CLIENT_PRIVATE_KEY_ID?.trim() || undefined;
let value = process.env.CLIENT_PRIVATE_KEY?.trim();
if (process.argv.includes('--generate')) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const thumbprint = createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
    .digest('base64url');
  value = JSON.stringify({ ...jwk, kid: thumbprint });
}
if (!value) {
  process.stderr.write('Set CLIENT_PRIVATE_KEY (a private JWK or a PKCS#8 PEM), or pass --generate.\n');
  process.exit(2);
}
const key = parseClientPrivateKey(value, keyId);
if (typeof key === 'string') {
  process.stderr.write(`CLIENT_PRIVATE_KEY ${key}\n`);
  process.exit(1);
}
if (process.argv.includes('--generate')) {
  process.stderr.write(`CLIENT_PRIVATE_KEY=${JSON.stringify(key.jwk)}\n`);
}
const publicJwk = Object.fromEntries(
  Object.entries(key.jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name)),
);
process.stdout.write(`${JSON.stringify({ ...publicJwk, use: 'sig' }, null, 2)}\n`);
