import { describe, expect, it } from 'vitest';
import { CookieJar } from './cookie-jar.ts';

function withCookies(...setCookies: string[]): Response {
  const headers = new Headers();
  for (const value of setCookies) headers.append('set-cookie', value);
  return new Response(null, { headers });
}

describe('CookieJar', () => {
  it('stores every Set-Cookie header and sends them back to the same host', () => {
    const jar = new CookieJar();
    jar.store('http://localhost:9000/a/b', withCookies('one=1; Path=/', 'two=2=x; Path=/; HttpOnly'));
    expect(jar.header('http://localhost:9000/')).toBe('one=1; two=2=x');
    expect(jar.get('two')).toBe('2=x');
    expect(jar.header('http://127.0.0.1:9000/')).toBe('');
  });

  it('honours Path, defaulting to the directory of the request path', () => {
    const jar = new CookieJar();
    jar.store(
      'http://localhost/oauth2/default/v1/authorize',
      withCookies('deep=1; Path=/oauth2/default/interaction/abc', 'dir=1'),
    );
    expect(jar.header('http://localhost/oauth2/default/interaction/abc/login')).toBe('deep=1');
    expect(jar.header('http://localhost/oauth2/default/v1/token')).toBe('dir=1');
    expect(jar.header('http://localhost/oauth2/default/interaction/abcd')).toBe('');
  });

  it('deletes cookies on Max-Age=0 or a past Expires, Max-Age winning over Expires', () => {
    const jar = new CookieJar();
    jar.store('http://localhost/', withCookies('a=1; Path=/', 'b=1; Path=/', 'c=1; Path=/'));
    jar.store(
      'http://localhost/',
      withCookies(
        'a=; Path=/; Max-Age=0',
        'b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
        'c=2; Path=/; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      ),
    );
    expect(jar.header('http://localhost/')).toBe('c=2');
    expect(jar.get('a')).toBeUndefined();
  });

  it('applies Domain to subdomains and refuses foreign domains', () => {
    const jar = new CookieJar();
    jar.store(
      'http://app.example.com/',
      withCookies('shared=1; Domain=example.com', 'evil=1; Domain=other.com'),
    );
    expect(jar.header('http://api.example.com/')).toBe('shared=1');
    expect(jar.names()).toEqual(['shared']);
  });

  it('sends Secure cookies only over https or to loopback hosts', () => {
    const jar = new CookieJar();
    jar.store('https://example.com/', withCookies('s=1; Secure; Path=/'));
    jar.store('http://localhost/', withCookies('l=1; Secure; Path=/'));
    expect(jar.header('http://example.com/')).toBe('');
    expect(jar.header('https://example.com/')).toBe('s=1');
    expect(jar.header('http://localhost/')).toBe('l=1');
  });
});
