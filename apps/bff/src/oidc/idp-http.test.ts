import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyIdpFailure } from './idp-failure.ts';
import { IdpAnswerTooLargeError, idpHttpFetch, MAX_IDP_BODY_BYTES } from './idp-http.ts';

/** What the test server was asked, by path. */
const seen = new Map<string, { method?: string; headers: http.IncomingHttpHeaders; body: string }>();
/** Sockets the test server saw close, by path of the request they carried. */
const closed = new Set<string>();
let origin = '';
let server: http.Server;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.set(path, { method: req.method, headers: req.headers, body });
      if (path === '/json') {
        res.writeHead(200, [
          'content-type',
          'application/json',
          'set-cookie',
          'a=1',
          'set-cookie',
          'b=2',
          'x-trace',
          'abc',
        ]);
        res.end('{"issuer":"https://idp.example"}');
      } else if (path === '/form') {
        res.writeHead(400, 'Bad Request', { 'content-type': 'application/json' });
        res.end('{"error":"invalid_grant"}');
      } else if (path === '/redirect') {
        res.writeHead(302, { location: '/elsewhere' });
        res.end();
      } else if (path === '/empty') {
        res.writeHead(204);
        res.end();
      } else if (path === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`"${'x'.repeat(MAX_IDP_BODY_BYTES)}"`);
      } else if (path === '/cut') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"partial":');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (path === '/silent') {
        res.socket?.once('close', () => closed.add(path));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const signal = () => AbortSignal.timeout(5_000);

describe('idpHttpFetch', () => {
  it('answers like fetch: status, every header (repeated ones too) and the body', async () => {
    const res = await idpHttpFetch(`${origin}/json`, {
      headers: { accept: 'application/json' },
      signal: signal(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('x-trace')).toBe('abc');
    expect(await res.clone().json()).toEqual({ issuer: 'https://idp.example' });
    expect(await res.text()).toBe('{"issuer":"https://idp.example"}');
    expect(seen.get('/json')).toMatchObject({ method: 'GET', headers: { accept: 'application/json' } });
  });

  it('posts a form as oauth4webapi does, with its length and type, and returns an error status as is', async () => {
    const res = await idpHttpFetch(new URL(`${origin}/form`), {
      method: 'POST',
      headers: new Headers({ authorization: 'Basic eDp5' }),
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'é&=' }),
      redirect: 'manual',
      signal: signal(),
    });
    expect([res.status, res.statusText]).toEqual([400, 'Bad Request']);
    expect(await res.json()).toEqual({ error: 'invalid_grant' });
    const asked = seen.get('/form');
    expect(asked?.method).toBe('POST');
    expect(asked?.body).toBe('grant_type=authorization_code&code=%C3%A9%26%3D');
    expect(asked?.headers).toMatchObject({
      authorization: 'Basic eDp5',
      'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      'content-length': String(asked?.body.length),
    });
  });

  it('never follows a redirect, and gives a 204 no body', async () => {
    const moved = await idpHttpFetch(`${origin}/redirect`, { signal: signal() });
    expect([moved.status, moved.headers.get('location')]).toEqual([302, '/elsewhere']);
    expect(seen.has('/elsewhere')).toBe(false);
    const empty = await idpHttpFetch(`${origin}/empty`, { signal: signal() });
    expect([empty.status, empty.body]).toEqual([204, null]);
  });

  it('fails as fetch does when no answer arrives: refused, or cut mid-body, is "unavailable"', async () => {
    const refused = await idpHttpFetch('http://127.0.0.1:1/', { signal: signal() }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect(classifyIdpFailure(refused)).toBe('unavailable');
    const cut = await idpHttpFetch(`${origin}/cut`, { signal: signal() }).catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(TypeError);
    expect(classifyIdpFailure(cut)).toBe('unavailable');
  });

  it('stops at the signal: rejects with its reason, and closes the connection', async () => {
    const timedOut = await idpHttpFetch(`${origin}/silent`, { signal: AbortSignal.timeout(100) }).catch(
      (e: unknown) => e,
    );
    expect(timedOut).toBeInstanceOf(DOMException);
    expect((timedOut as DOMException).name).toBe('TimeoutError');
    expect(classifyIdpFailure(timedOut)).toBe('unavailable');
    await expect.poll(() => closed.has('/silent')).toBe(true);

    const before = seen.size;
    const aborted = AbortSignal.abort(new DOMException('gone', 'AbortError'));
    await expect(idpHttpFetch(`${origin}/json?never`, { signal: aborted })).rejects.toThrow('gone');
    expect(seen.size).toBe(before);
  });

  it('refuses an answer over 1 MiB, as an invalid answer rather than an outage', async () => {
    const error = await idpHttpFetch(`${origin}/huge`, { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdpAnswerTooLargeError);
    expect(classifyIdpFailure(error)).toBe('invalid_response');
  });

  it('takes only http(s) URLs', async () => {
    await expect(idpHttpFetch('file:///etc/passwd')).rejects.toThrow(/file: URLs are not fetched/);
    await expect(idpHttpFetch(new Request(`${origin}/json`))).rejects.toThrow(/not a Request/);
  });
});
