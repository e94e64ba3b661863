import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../app.ts';
import { bearer, createTestIssuer, TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from '../test-tokens.ts';
import { type EchoBody, MAX_DOWNLOAD_BYTES, REDACTED } from './diagnostics.ts';

let idp: TestIssuer;
let token: string;
let app: ReturnType<typeof createApiApp>;

beforeAll(async () => {
  idp = await createTestIssuer();
  token = await idp.signAccessToken({ sub: 'alice@example.com' });
  app = createApiApp({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, jwks: idp.jwks });
});

/** A request body delivered in `chunks` pieces of `size` bytes each, never assembled in memory. */
function streamOf(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === chunks) return controller.close();
      controller.enqueue(new Uint8Array(size).fill(sent % 256));
      sent += 1;
    },
  });
}

describe('/echo', () => {
  it('describes the request it received, credentials redacted', async () => {
    const res = await app.request('/echo?a=1&a=2&b=x%20y', {
      headers: {
        ...bearer(token),
        'x-forwarded-for': '203.0.113.9',
        cookie: 'sid=secret',
        'x-custom': 'yes',
      },
    });
    expect(res.status).toBe(200);
    const echo: EchoBody = await res.json();
    expect(echo).toMatchObject({
      method: 'GET',
      path: '/echo',
      query: { a: ['1', '2'], b: ['x y'] },
      rawQuery: 'a=1&a=2&b=x%20y',
      bodyBytes: 0,
      sub: 'alice@example.com',
    });
    expect(echo.headers).toMatchObject({
      'x-forwarded-for': '203.0.113.9',
      'x-custom': 'yes',
      authorization: REDACTED,
      cookie: REDACTED,
    });
    // The token itself must never come back: the BFF relays this body to the browser.
    expect(JSON.stringify(echo)).not.toContain(token);
    expect(JSON.stringify(echo)).not.toContain('secret');
  });

  it.each(['POST', 'PUT'])('%s counts and hashes a streamed 8 MiB body', async (method) => {
    const chunks = 128;
    const size = 64 * 1024;
    const expected = createHash('sha256');
    for (let i = 0; i < chunks; i += 1) expected.update(new Uint8Array(size).fill(i % 256));
    const res = await app.request('/echo', {
      method,
      headers: { ...bearer(token), 'content-type': 'application/octet-stream' },
      body: streamOf(chunks, size),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    const echo: EchoBody = await res.json();
    expect(echo.method).toBe(method);
    expect(echo.bodyBytes).toBe(chunks * size);
    expect(echo.bodySha256).toBe(expected.digest('hex'));
  });

  it('requires a token', async () => {
    const res = await app.request('/echo');
    expect(res.status).toBe(401);
    expect((await res.json()).error).toBe('unauthenticated');
  });
});

describe('GET /bytes', () => {
  it('streams n zero bytes with a Content-Length', async () => {
    const res = await app.request('/bytes?n=200000', { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('200000');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.byteLength).toBe(200_000);
    expect(body.every((b) => b === 0)).toBe(true);
  });

  it('answers n=0 with an empty body', async () => {
    const res = await app.request('/bytes?n=0', { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it.each(['', 'abc', '-1', '1.5', '1e3', String(MAX_DOWNLOAD_BYTES + 1)])(
    'refuses n=%s with 400',
    async (n) => {
      const res = await app.request(`/bytes?n=${n}`, { headers: bearer(token) });
      expect(res.status).toBe(400);
      expect((await res.json()).error).toBe('bad_request');
    },
  );

  it('requires a token', async () => {
    expect((await app.request('/bytes?n=10')).status).toBe(401);
  });
});
