/**
 * Prints the public JWK to register in Okta for `CLIENT_AUTH_METHOD=private_key_jwt`.
 *
 *   CLIENT_PRIVATE_KEY="$(cat key.pem)" pnpm tsx scripts/public-jwk.ts   # the public half of your key
 *   pnpm tsx scripts/public-jwk.ts --generate                            # a new ES256 key pair
 *
 * With `--generate`, the private JWK goes to stderr, for `CLIENT_PRIVATE_KEY` in your secret
 * store; stdout gets only the public JWK, for Okta (the app's *Client authentication* → *Public
 * key / Private key* → *Add key*).
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseClientPrivateKey } from '../packages/oidc/src/config.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

let value = process.env.CLIENT_PRIVATE_KEY?.trim();
if (process.argv.includes('--generate')) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  value = JSON.stringify(privateKey.export({ format: 'jwk' }));
}
if (!value) {
  process.stderr.write('Set CLIENT_PRIVATE_KEY (a private JWK or a PKCS#8 PEM), or pass --generate.\n');
  process.exit(2);
}
const key = parseClientPrivateKey(value);
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
