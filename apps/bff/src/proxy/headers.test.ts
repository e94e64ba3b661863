import { describe, expect, it } from 'vitest';
import {
  clientResponseHeaders,
  headerListToObject,
  isDroppedRequestHeader,
  upstreamRequestHeaders,
} from './headers.ts';

describe('upstreamRequestHeaders', () => {
  it('drops credentials, hop-by-hop and spoofable headers and sets its own', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'localhost:8000',
        accept: 'application/json',
        'content-type': 'application/json',
        'content-length': '12',
        'transfer-encoding': 'chunked',
        expect: '100-continue',
        cookie: 'bff_session=secret',
        authorization: 'Bearer client-supplied',
        'x-csrf': '1',
        connection: 'keep-alive, x-custom-hop',
        'x-custom-hop': 'drop me',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'websocket',
        'proxy-authorization': 'Basic x',
        forwarded: 'for=1.2.3.4',
        'x-forwarded-for': '1.2.3.4',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-real-ip': '1.2.3.4',
        'x-request-id': 'client-id',
        'x-app-header': 'kept',
      },
      'api.example:8443',
      'Bearer the-access-token',
      { forwardedFor: '127.0.0.1', proto: 'http', host: 'localhost:8000', requestId: 'req-1' },
    );
    expect(headerListToObject(out)).toEqual({
      host: 'api.example:8443',
      accept: 'application/json',
      'content-type': 'application/json',
      // Framing is the proxy's own (body-framing.ts), written after these fields.
      'x-app-header': 'kept',
      authorization: 'Bearer the-access-token',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'localhost:8000',
      'x-request-id': 'req-1',
    });
  });
});

describe('clientResponseHeaders', () => {
  it('drops Set-Cookie, CORS and hop-by-hop headers from the upstream', () => {
    const out = clientResponseHeaders({
      'content-type': 'application/json',
      'set-cookie': ['a=b'],
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
      connection: 'close, x-hop',
      'x-hop': '1',
      'transfer-encoding': 'chunked',
      etag: '"1"',
    });
    expect(out).toEqual(['content-type', 'application/json', 'etag', '"1"', 'cache-control', 'no-store']);
  });

  it("keeps the upstream's Cache-Control, and a list value as one entry", () => {
    const out = clientResponseHeaders({
      'cache-control': 'private, max-age=60',
      vary: 'accept',
      link: ['</a>; rel=preload', '</b>; rel=preload'] as unknown as string,
    });
    expect(out).toEqual([
      'cache-control',
      'private, max-age=60',
      'vary',
      'accept',
      'link',
      ['</a>; rel=preload', '</b>; rel=preload'],
    ]);
  });
});

describe('Connection', () => {
  it('drops the fields it names, whatever else it says', () => {
    for (const connection of ['keep-alive, x-hop', 'X-Hop', 'close,x-hop', ' x-hop ']) {
      const out = headerListToObject(
        upstreamRequestHeaders({ connection, 'x-hop': '1', accept: '*/*' }, 'api', 'Bearer t', {
          forwardedFor: undefined,
          proto: 'https',
          host: 'app',
          requestId: 'r',
        }),
      );
      expect(out, connection).not.toHaveProperty('x-hop');
      expect(out.accept).toBe('*/*');
    }
  });
});

describe('isDroppedRequestHeader', () => {
  it('drops every name of the prefix and exact tables, and only those', () => {
    for (const name of [
      'x-forwarded-port',
      'x-user-id',
      'x-authenticated-user',
      'cf-connecting-ip',
      'x-envoy-original-path',
      'remote-user',
      'remote-email',
      'remote-groups',
      'x-webauth-user',
      'x-consumer-username',
      'x-pomerium-jwt-assertion',
      'x-ssl-client-cert',
      'ssl-client-verify',
      'impersonate-user',
      'x-credential-username',
      'x-client-cert',
      'x-arr-clientcert',
      'x-endpoint-api-userinfo',
      'x-apigateway-api-userinfo',
      'x-vouch-user',
      'x-hasura-role',
      'x-proxy-user',
      'gap-auth',
    ])
      expect(isDroppedRequestHeader(name), name).toBe(true);
    for (const name of [
      'accept',
      'x-app-header',
      'content-type',
      'cfoo',
      'xforwarded-for',
      'remoteness',
      'x-client-version',
      'x-proxy-hint',
    ])
      expect(isDroppedRequestHeader(name), name).toBe(false);
  });

  it('drops every name with an underscore: CGI and WSGI read x_forwarded_user as X-Forwarded-User', () => {
    for (const name of [
      'x_forwarded_user',
      'x_forwarded_for',
      'remote_user',
      'x_app_header',
      'x.forwarded.user',
    ])
      expect(isDroppedRequestHeader(name), name).toBe(true);
  });
});
