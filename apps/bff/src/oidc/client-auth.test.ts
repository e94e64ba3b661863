import { createRemoteJWKSet } from 'jose';
import type * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { createClientAuthentication } from './client-auth.ts';
import type { Idp } from './idp.ts';
import { buildAuthorizationRequest } from './login.ts';
import { redeemRefreshToken, revokeToken } from './tokens.ts';

const ISSUER = 'https://idp.example.test/oauth2/default';
const AS: oauth.AuthorizationServer = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/v1/authorize`,
  token_endpoint: `${ISSUER}/v1/token`,
  revocation_endpoint: `${ISSUER}/v1/revoke`,
  pushed_authorization_request_endpoint: `${ISSUER}/v1/par`,
  jwks_uri: `${ISSUER}/v1/keys`,
};
/** A secret HTTP Basic would form-encode (`-` → `%2D`, `:` → `%3A`, …). */
const SECRET = "s3cr-et:with/odd+chars=~!*'()";

interface Sent {
  readonly url: string;
  readonly authorization: string | null;
  readonly body: URLSearchParams;
}

/** An IdP at the network boundary: records each request and answers what each endpoint would. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    sent.push({
      url,
      authorization: new Headers(init?.headers).get('authorization'),
      body: new URLSearchParams(String(init?.body)),
    });
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (url === AS.token_endpoint)
      return json(200, { access_token: 'at', token_type: 'bearer', expires_in: 60 });
    if (url === AS.pushed_authorization_request_endpoint)
      return json(201, { request_uri: 'urn:ietf:params:oauth:request_uri:x', expires_in: 60 });
    return new Response(null, { status: 200 });
  };
}

describe('client_secret_post', () => {
  it('sends client_id and client_secret in the body, and no Authorization header, to token, revocation and PAR', async () => {
    const sent: Sent[] = [];
    const idp: Idp = {
      as: AS,
      client: { client_id: '0oa-post' },
      clientAuth: await createClientAuthentication(
        { clientAuthMethod: 'client_secret_post', clientSecret: SECRET, clientPrivateKey: undefined },
        AS,
      ),
      usePar: true,
      useDpop: false,
      jwks: createRemoteJWKSet(new URL(AS.jwks_uri!)),
      redirectUri: 'https://app.example.test/authorization-code/callback',
      timeoutMs: 1_000,
      allowHttp: false,
      fetch: recordingFetch(sent),
    };
    await buildAuthorizationRequest(idp, {
      scopes: ['openid'],
      prompt: undefined,
      responseMode: 'query',
      returnTo: '/',
    });
    await redeemRefreshToken(idp, 'rt');
    await revokeToken(idp, 'rt', 'refresh_token', 1_000);

    expect(sent.map((s) => s.url)).toEqual([
      AS.pushed_authorization_request_endpoint,
      AS.token_endpoint,
      AS.revocation_endpoint,
    ]);
    for (const s of sent) {
      expect(s.authorization).toBeNull();
      expect(s.body.get('client_id')).toBe('0oa-post');
      expect(s.body.get('client_secret')).toBe(SECRET);
    }
  });

  it('client_secret_basic, by contrast, sends the secret form-encoded in Basic and not in the body', async () => {
    const auth = await createClientAuthentication(
      { clientAuthMethod: 'client_secret_basic', clientSecret: SECRET, clientPrivateKey: undefined },
      AS,
    );
    const body = new URLSearchParams();
    const headers = new Headers();
    await auth.token(AS, { client_id: '0oa-post' }, body, headers);
    expect(body.has('client_secret')).toBe(false);
    const basic = Buffer.from(headers.get('authorization')!.slice(6), 'base64').toString();
    expect(basic).toContain('%2D');
  });
});
