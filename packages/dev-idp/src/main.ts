/**
 * `pnpm --filter @okta-bff/dev-idp start`: runs the dev IdP for `pnpm dev`. The only module of
 * the package that reads `process.env`; every variable is checked at start and all problems are
 * reported together.
 *
 * Variables: DEV_IDP_PORT (9000), DEV_IDP_ACCESS_TOKEN_TTL_S, DEV_IDP_ID_TOKEN_TTL_S,
 * DEV_IDP_REFRESH_TOKEN_TTL_S (short values make refresh visible), REDIRECT_URL and
 * POST_LOGOUT_REDIRECT_URL (registered for the dev clients when set). The clients' back- and
 * front-channel logout URIs are the BFF's `/auth/…-logout` routes on REDIRECT_URL's origin.
 *
 * The second dev client ({@link createSecureDevClient}: `private_key_jwt`, DPoP-bound tokens,
 * PAR) is registered when DEV_IDP_SECURE_CLIENT_JWKS holds its public keys, a JWKS (or a single
 * JWK) as JSON; `src/generate-client-key.ts` prints a fresh key pair in the form the BFF and
 * this variable expect. DEV_IDP_SECURE_CLIENT_REQUIRE_PAR=true makes that client PAR-only, and
 * DEV_IDP_DPOP_NONCE=true makes the token endpoint demand DPoP nonces as Okta's does.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import { createDevClient, createSecureDevClient, DEV_SECURE_CLIENT_ID } from './dev-clients.ts';
import { type DevIdpOptions, startDevIdp } from './dev-idp.ts';

/** Members of a JWK that only a private key has (RFC 7518 §6). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

interface DevIdpConfig {
  readonly options: DevIdpOptions;
  /** The secure client's registration, when DEV_IDP_SECURE_CLIENT_JWKS is set. */
  readonly secureClient: { readonly requirePar: boolean; readonly kids: readonly string[] } | undefined;
}

function readConfig(env: NodeJS.ProcessEnv): DevIdpConfig {
  const problems: string[] = [];

  const integer = (name: string, min: number, max: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
  const url = (name: string): string | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    if (!URL.canParse(raw)) problems.push(`${name} must be an absolute URL, got "${raw}"`);
    return raw;
  };
  const flag = (name: string): boolean => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '' || raw === 'false') return false;
    if (raw === 'true') return true;
    problems.push(`${name} must be true or false, got "${env[name]}"`);
    return false;
  };
  const publicJwks = (name: string): { keys: JWK[] } | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      problems.push(`${name} must be a JWKS as JSON: ${(error as Error).message}`);
      return undefined;
    }
    const keys = (parsed as { keys?: unknown }).keys ?? [parsed];
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key?.kty === 'string')) {
      problems.push(`${name} must be a JWKS ({"keys":[…]}) or one JWK, each with "kty"`);
      return undefined;
    }
    const secret = keys.flatMap((key) => PRIVATE_JWK_MEMBERS.filter((member) => member in key));
    if (secret.length) {
      // Said without the value: it is a private key that just went somewhere it should not.
      problems.push(
        `${name} must hold public keys only; it has private member(s) ${[...new Set(secret)].join(', ')}`,
      );
      return undefined;
    }
    keys.forEach((key, index) => {
      try {
        createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
      } catch (error) {
        problems.push(`${name}: key ${index} is not a valid public key: ${(error as Error).message}`);
      }
    });
    return { keys: keys as JWK[] };
  };

  const port = integer('DEV_IDP_PORT', 1, 65535);
  const accessTokenTtlS = integer('DEV_IDP_ACCESS_TOKEN_TTL_S', 1, 86_400);
  const idTokenTtlS = integer('DEV_IDP_ID_TOKEN_TTL_S', 1, 86_400);
  const refreshTokenTtlS = integer('DEV_IDP_REFRESH_TOKEN_TTL_S', 1, 365 * 86_400);
  const redirectUrl = url('REDIRECT_URL');
  const postLogoutRedirectUrl = url('POST_LOGOUT_REDIRECT_URL');
  const secureJwks = publicJwks('DEV_IDP_SECURE_CLIENT_JWKS');
  const requirePar = flag('DEV_IDP_SECURE_CLIENT_REQUIRE_PAR');
  const dpopNonce = flag('DEV_IDP_DPOP_NONCE');

  if (problems.length) throw new TypeError(`dev-idp: invalid environment:\n  ${problems.join('\n  ')}`);

  const uris = {
    ...(redirectUrl ? { redirectUris: [redirectUrl] } : {}),
    ...(postLogoutRedirectUrl ? { postLogoutRedirectUris: [postLogoutRedirectUrl] } : {}),
  };
  return Object.freeze({
    options: Object.freeze({
      port,
      accessTokenTtlS,
      idTokenTtlS,
      refreshTokenTtlS,
      dpopNonce,
      clients: [
        createDevClient(uris),
        ...(secureJwks
          ? [
              createSecureDevClient({
                ...uris,
                jwks: secureJwks,
                requirePushedAuthorizationRequests: requirePar,
              }),
            ]
          : []),
      ],
    }),
    secureClient: secureJwks
      ? { requirePar, kids: secureJwks.keys.map((key) => key.kid ?? '(no kid)') }
      : undefined,
  });
}

const { options, secureClient } = readConfig(process.env);
const idp = await startDevIdp(options);
const users = idp.users.map((user) => `${user.login} / ${user.password}`).join(', ');
console.log(`dev-idp: issuer ${idp.issuer} — test users: ${users}`);
if (secureClient) {
  const par = secureClient.requirePar ? 'PAR required' : 'PAR optional';
  console.log(
    `dev-idp: secure client ${DEV_SECURE_CLIENT_ID} (private_key_jwt with key ${secureClient.kids.join(', ')}, ` +
      `DPoP-bound tokens, ${par}). Point the BFF at it with:\n` +
      `  CLIENT_ID=${DEV_SECURE_CLIENT_ID} CLIENT_AUTH_METHOD=private_key_jwt ` +
      `CLIENT_PRIVATE_KEY=<the matching private JWK> API_TOKEN_TYPE=dpop OKTA_USE_PAR=${secureClient.requirePar ? 'true' : 'true|false'}`,
  );
}
if (options.dpopNonce) console.log('dev-idp: DPoP nonces required at the token endpoint (use_dpop_nonce)');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    idp.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('dev-idp: failed to close', error);
        process.exit(1);
      },
    );
  });
}
