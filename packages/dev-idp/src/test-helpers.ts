/**
 * Test-only helpers for this package's own tests: a client's side of the authorization code
 * flow with PKCE and client_secret_basic, and the secure client's `private_key_jwt` assertions,
 * DPoP proofs and pushed requests, written with plain fetch and jose to keep the IdP honest.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DEV_IDP } from '@okta-bff/oidc';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { expect } from 'vitest';
import { DEV_SECURE_CLIENT_ID, type DevIdp } from './index.ts';
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
  /** More authorization request parameters, e.g. `acr_values`, `max_age`, `prompt`. */
  params?: Record<string, string>;
}

export function authorizeRequest(
  idp: DevIdp,
  { scope = 'openid profile email', responseMode, pkce = true, redirectUri, params }: AuthorizeOptions = {},
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
    ...params,
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

/** Logs in and exchanges the code; returns the token response (and the pages filled in). */
export async function login(
  idp: DevIdp,
  options: AuthorizeOptions & { jar?: CookieJar; user?: typeof alice; otp?: string } = {},
) {
  const { user = alice, jar, otp } = options;
  const request = authorizeRequest(idp, options);
  const pages: ('login' | 'otp')[] = [];
  const callback = await driveIdpLogin({
    authorizeUrl: request.url,
    username: user.login,
    password: user.password,
    jar,
    otp,
    onPage: (page) => pages.push(page),
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
  return { tokens: tokens.body, request, callback, pages };
}

/** A `private_key_jwt` client key and a DPoP key, generated per test run. */
export interface SecureClientKeys {
  readonly clientKey: CryptoKey;
  readonly kid: string;
  /** The public JWKS to register for the client. */
  readonly jwks: { keys: JWK[] };
  readonly dpopKey: CryptoKeyPair;
  readonly dpopJwk: JWK;
  /** RFC 7638 thumbprint of the DPoP key: the `cnf.jkt` of bound tokens. */
  readonly dpopJkt: string;
}

export async function generateSecureClientKeys(alg: 'ES256' | 'RS256' = 'ES256'): Promise<SecureClientKeys> {
  const client = await generateKeyPair(alg);
  const publicJwk = await exportJWK(client.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const dpopKey = await generateKeyPair('ES256');
  const dpopJwk = await exportJWK(dpopKey.publicKey);
  return {
    clientKey: client.privateKey,
    kid,
    jwks: { keys: [{ ...publicJwk, kid, alg, use: 'sig' }] },
    dpopKey,
    dpopJwk,
    dpopJkt: await calculateJwkThumbprint(dpopJwk),
  };
}

/** An RFC 7523 client assertion of the secure client; claims can be overridden to break it. */
export function signClientAssertion(
  keys: SecureClientKeys,
  aud: string | string[],
  claims: Record<string, unknown> = {},
): Promise<string> {
  const alg = String(keys.jwks.keys[0]?.alg);
  return new SignJWT({ jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg, kid: keys.kid })
    .setIssuer(DEV_SECURE_CLIENT_ID)
    .setSubject(DEV_SECURE_CLIENT_ID)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(keys.clientKey);
}

/** An RFC 9449 DPoP proof for `htm` `htu`, with `ath` when an access token is given. */
export function signDpopProof(
  keys: Pick<SecureClientKeys, 'dpopKey' | 'dpopJwk'>,
  htm: string,
  htu: string,
  { nonce, accessToken }: { nonce?: string; accessToken?: string } = {},
): Promise<string> {
  return new SignJWT({
    jti: randomUUID(),
    htm,
    htu,
    ...(nonce ? { nonce } : {}),
    ...(accessToken ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: keys.dpopJwk })
    .setIssuedAt()
    .sign(keys.dpopKey.privateKey);
}

export interface SecurePostOptions {
  /** The assertion's `aud`; the endpoint's URL by default (what Okta requires). */
  aud?: string | string[];
  /** Send a DPoP proof (with this server nonce, if a string). */
  dpop?: boolean | string;
  /** Send this assertion instead of a fresh one (replays). */
  assertion?: string;
}

/**
 * A form POST of the secure client to `endpoint` (a URL), authenticated with `private_key_jwt`:
 * the status, the `DPoP-Nonce` and `WWW-Authenticate` headers and the JSON body.
 */
export async function securePost(
  keys: SecureClientKeys,
  endpoint: string,
  params: Record<string, string>,
  { aud = endpoint, dpop = false, assertion }: SecurePostOptions = {},
) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (dpop) {
    const nonce = typeof dpop === 'string' ? dpop : undefined;
    headers.dpop = await signDpopProof(keys, 'POST', endpoint, { nonce });
  }
  const response = await fetch(endpoint, {
    method: 'POST',
    headers,
    body: new URLSearchParams({
      ...params,
      client_id: DEV_SECURE_CLIENT_ID,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion ?? (await signClientAssertion(keys, aud)),
    }),
  });
  const text = await response.text();
  return {
    status: response.status,
    dpopNonce: response.headers.get('dpop-nonce'),
    body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
  };
}

/** The parameters of an authorization request (PKCE, state, nonce) for the secure client. */
export function secureAuthorizationParams(scope = 'openid profile email offline_access') {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  return {
    verifier,
    state,
    params: {
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope,
      state,
      nonce: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    },
  };
}
