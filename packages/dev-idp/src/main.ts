/**
 * `pnpm --filter @okta-bff/dev-idp start`: runs the dev IdP for `pnpm dev`. The only module of
 * the package that reads `process.env`; every variable is checked at start and all problems are
 * reported together.
 *
 * Variables: DEV_IDP_PORT (9000), DEV_IDP_ACCESS_TOKEN_TTL_S, DEV_IDP_ID_TOKEN_TTL_S,
 * DEV_IDP_REFRESH_TOKEN_TTL_S (short values make refresh visible), REDIRECT_URL and
 * POST_LOGOUT_REDIRECT_URL (registered for the dev client when set). The client's back- and
 * front-channel logout URIs are the BFF's `/auth/…-logout` routes on REDIRECT_URL's origin.
 */
import { createDevClient, type DevIdpOptions, startDevIdp } from './dev-idp.ts';

function readConfig(env: NodeJS.ProcessEnv): DevIdpOptions {
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

  const port = integer('DEV_IDP_PORT', 1, 65535);
  const accessTokenTtlS = integer('DEV_IDP_ACCESS_TOKEN_TTL_S', 1, 86_400);
  const idTokenTtlS = integer('DEV_IDP_ID_TOKEN_TTL_S', 1, 86_400);
  const refreshTokenTtlS = integer('DEV_IDP_REFRESH_TOKEN_TTL_S', 1, 365 * 86_400);
  const redirectUrl = url('REDIRECT_URL');
  const postLogoutRedirectUrl = url('POST_LOGOUT_REDIRECT_URL');

  if (problems.length) throw new TypeError(`dev-idp: invalid environment:\n  ${problems.join('\n  ')}`);

  return Object.freeze({
    port,
    accessTokenTtlS,
    idTokenTtlS,
    refreshTokenTtlS,
    clients: [
      createDevClient({
        ...(redirectUrl ? { redirectUris: [redirectUrl] } : {}),
        ...(postLogoutRedirectUrl ? { postLogoutRedirectUris: [postLogoutRedirectUrl] } : {}),
      }),
    ],
  });
}

const idp = await startDevIdp(readConfig(process.env));
const users = idp.users.map((user) => `${user.login} / ${user.password}`).join(', ');
console.log(`dev-idp: issuer ${idp.issuer} — test users: ${users}`);

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
