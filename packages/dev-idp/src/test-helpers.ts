/**
 * Test-only helpers for this package's own tests: a client's side of the authorization code
 * flow with PKCE and client_secret_basic, written with plain fetch to keep the IdP honest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DEV_IDP } from '@okta-bff/oidc';
import { expect } from 'vitest';
import type { DevIdp } from './index.ts';
import { type CookieJar, driveIdpLogin } from './testing/index.ts';
import { DEV_USERS } from './users.ts';

export const REDIRECT_URI = 'http://localhost:8000/authorization-code/callback';
export const POST_LOGOUT_URI = 'http://localhost:8000/';
export const [alice, bob] = DEV_USERS as [(typeof DEV_USERS)[number], (typeof DEV_USERS)[number]];

export interface AuthorizeOptions {
  scope?: string;
  responseMode?: 'query' | 'form_post';
  pkce?: boolean;
  redirectUri?: string;
}

export function authorizeRequest(
  idp: DevIdp,
  { scope = 'openid profile email', responseMode, pkce = true, redirectUri }: AuthorizeOptions = {},
) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const url = new URL(`${idp.issuer}/v1/authorize`);
  url.search = new URLSearchParams({
    client_id: DEV_IDP.clientId,
    response_type: 'code',
    scope,
    redirect_uri: redirectUri ?? REDIRECT_URI,
    state,
    nonce: randomBytes(8).toString('hex'),
    ...(responseMode ? { response_mode: responseMode } : {}),
    ...(pkce
      ? {
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
        }
      : {}),
  }).toString();
  return { url: url.href, verifier, state };
}

export async function tokenRequest(idp: DevIdp, params: Record<string, string>) {
  const basic = Buffer.from(
    `${encodeURIComponent(DEV_IDP.clientId)}:${encodeURIComponent(DEV_IDP.clientSecret)}`,
  ).toString('base64');
  const response = await fetch(`${idp.issuer}/v1/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Logs in and exchanges the code; returns the token response. */
export async function login(
  idp: DevIdp,
  options: AuthorizeOptions & { jar?: CookieJar; user?: typeof alice } = {},
) {
  const { user = alice, jar } = options;
  const request = authorizeRequest(idp, options);
  const callback = await driveIdpLogin({
    authorizeUrl: request.url,
    username: user.login,
    password: user.password,
    jar,
  });
  expect(callback.method).toBe('GET');
  const params = new URL(callback.url).searchParams;
  expect(params.get('state')).toBe(request.state);
  expect(params.get('iss')).toBe(idp.issuer);
  const code = params.get('code');
  if (!code) throw new Error(`no code in callback: ${params.get('error')}`);
  const tokens = await tokenRequest(idp, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: options.redirectUri ?? REDIRECT_URI,
    code_verifier: request.verifier,
  });
  expect(tokens.status).toBe(200);
  return { tokens: tokens.body, request, callback };
}
