import { afterEach, describe, expect, it, vi } from 'vitest';
import { CookieJar } from './cookie-jar.ts';

function withCookies(...setCookies: string[]): Response {
  const headers = new Headers();
  for (const value of setCookies) headers.append('set-cookie', value);
  return new Response(null, { headers });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('CookieJar', () => {
  it('stores every Set-Cookie header and sends them back to the same host', () => {
    const jar = new CookieJar();
    jar.store('http://localhost:9000/a/b', withCookies('one=1; Path=/', 'two=2=x; Path=/; HttpOnly'));
    expect(jar.header('http://localhost:9000/')).toBe('one=1; two=2=x');
    expect(jar.header(new URL('http://localhost:9000/x'))).toBe('one=1; two=2=x');
    expect(jar.get('two')).toBe('2=x');
    expect(jar.names()).toEqual(['one', 'two']);
    expect(jar.header('http://127.0.0.1:9000/')).toBe('');
    jar.clear();
    expect(jar.names()).toEqual([]);
    expect(jar.header('http://localhost:9000/')).toBe('');
  });

  it('replaces a cookie of the same name, domain and path, keeping its place', () => {
    const jar = new CookieJar();
    jar.store('http://localhost/', withCookies('a=1; Path=/', 'b=1; Path=/'));
    jar.store('http://localhost/', withCookies('a=2; Path=/'));
    expect(jar.names()).toEqual(['a', 'b']);
    expect(jar.header('http://localhost/')).toBe('a=2; b=1');
  });

  describe('Domain', () => {
    it('keeps a cookie without Domain to its host only', () => {
      const jar = new CookieJar();
      jar.store('https://app.example.com/', withCookies('host=1; Path=/'));
      expect(jar.header('https://app.example.com/')).toBe('host=1');
      expect(jar.header('https://api.app.example.com/')).toBe('');
      expect(jar.header('https://example.com/')).toBe('');
    });

    it('applies Domain to the domain and its subdomains, and refuses foreign domains and public suffixes', () => {
      const jar = new CookieJar();
      jar.store(
        'https://app.example.com/',
        withCookies(
          'shared=1; Domain=example.com; Path=/',
          'dotted=1; Domain=.example.com; Path=/',
          'evil=1; Domain=other.com; Path=/',
          'suffix=1; Domain=com; Path=/',
          'sibling=1; Domain=api.example.com; Path=/',
        ),
      );
      expect(jar.names()).toEqual(['shared', 'dotted']);
      expect(jar.header('https://api.example.com/')).toBe('shared=1; dotted=1');
      expect(jar.header('https://example.com/')).toBe('shared=1; dotted=1');
      expect(jar.header('https://example.org/')).toBe('');
    });

    it('keeps a host-only and a Domain cookie of the same name apart', () => {
      const jar = new CookieJar();
      jar.store(
        'https://app.example.com/',
        withCookies('id=host; Path=/', 'id=domain; Domain=example.com; Path=/'),
      );
      expect(jar.header('https://app.example.com/')).toBe('id=host; id=domain');
      expect(jar.header('https://www.example.com/')).toBe('id=domain');
    });
  });

  describe('Path', () => {
    it('matches on path segments, defaulting to the directory of the request path', () => {
      const jar = new CookieJar();
      jar.store(
        'http://localhost/oauth2/default/v1/authorize',
        withCookies('deep=1; Path=/oauth2/default/interaction/abc', 'dir=1'),
      );
      expect(jar.header('http://localhost/oauth2/default/interaction/abc/login')).toBe('deep=1');
      expect(jar.header('http://localhost/oauth2/default/interaction/abc')).toBe('deep=1');
      expect(jar.header('http://localhost/oauth2/default/interaction/abcd')).toBe('');
      // `dir` got the default path `/oauth2/default/v1`.
      expect(jar.header('http://localhost/oauth2/default/v1/token')).toBe('dir=1');
      expect(jar.header('http://localhost/oauth2/default/v1')).toBe('dir=1');
      expect(jar.header('http://localhost/oauth2/default/v10')).toBe('');
    });

    it('sends longer paths first, so a server reading the first value gets the most specific', () => {
      const jar = new CookieJar();
      jar.store('http://localhost/', withCookies('v=root; Path=/', 'v=api; Path=/api'));
      expect(jar.header('http://localhost/api/items')).toBe('v=api; v=root');
    });
  });

  describe('expiry', () => {
    it('deletes cookies on Max-Age=0 or a past Expires, Max-Age winning over Expires', () => {
      const jar = new CookieJar();
      jar.store('http://localhost/', withCookies('a=1; Path=/', 'b=1; Path=/', 'c=1; Path=/', 'd=1; Path=/'));
      jar.store(
        'http://localhost/',
        withCookies(
          'a=; Path=/; Max-Age=0',
          'b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
          'c=2; Path=/; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
          'd=; Path=/; Max-Age=-1; Expires=Fri, 01 Jan 2100 00:00:00 GMT',
        ),
      );
      expect(jar.header('http://localhost/')).toBe('c=2');
      expect(jar.get('a')).toBeUndefined();
      expect(jar.names()).toEqual(['c']);
    });

    it('deletes only the cookie of the same path', () => {
      const jar = new CookieJar();
      jar.store('http://localhost/', withCookies('a=root; Path=/', 'a=api; Path=/api'));
      jar.store('http://localhost/', withCookies('a=; Path=/api; Max-Age=0'));
      expect(jar.header('http://localhost/api')).toBe('a=root');
    });

    it('counts Max-Age from when the cookie was stored, however often it is sent', () => {
      vi.useFakeTimers({ now: new Date('2031-05-01T12:00:00Z') });
      const jar = new CookieJar();
      jar.store('http://localhost/', withCookies('a=1; Path=/; Max-Age=60'));
      vi.advanceTimersByTime(40_000);
      expect(jar.header('http://localhost/')).toBe('a=1');
      vi.advanceTimersByTime(21_000);
      expect(jar.header('http://localhost/')).toBe('');
      expect(jar.names()).toEqual([]);
    });

    it('ends a cookie at its Expires date, and keeps a session cookie', () => {
      vi.useFakeTimers({ now: new Date('2031-05-01T12:00:00Z') });
      const jar = new CookieJar();
      jar.store(
        'http://localhost/',
        withCookies('e=1; Path=/; Expires=Thu, 01 May 2031 13:00:00 GMT', 'session=1; Path=/'),
      );
      vi.advanceTimersByTime(59 * 60_000);
      expect(jar.header('http://localhost/')).toBe('e=1; session=1');
      vi.advanceTimersByTime(60_000);
      expect(jar.header('http://localhost/')).toBe('session=1');
      expect(jar.get('e')).toBeUndefined();
    });

    it('caps a cookie’s lifetime at 400 days, as browsers do', () => {
      vi.useFakeTimers({ now: new Date('2031-05-01T12:00:00Z') });
      const jar = new CookieJar();
      jar.store(
        'http://localhost/',
        withCookies('a=1; Path=/; Max-Age=99999999999', 'b=1; Path=/; Expires=Fri, 01 Jan 2100 00:00:00 GMT'),
      );
      vi.advanceTimersByTime(399 * 24 * 3600_000);
      expect(jar.header('http://localhost/')).toBe('a=1; b=1');
      vi.advanceTimersByTime(2 * 24 * 3600_000);
      expect(jar.header('http://localhost/')).toBe('');
    });
  });

  describe('Secure', () => {
    it('sends Secure cookies over https only, except to loopback hosts', () => {
      const jar = new CookieJar();
      jar.store('https://example.com/', withCookies('s=1; Secure; Path=/'));
      jar.store('http://localhost/', withCookies('l=1; Secure; Path=/'));
      jar.store('http://127.0.0.1/', withCookies('ip=1; Secure; Path=/'));
      expect(jar.header('http://example.com/')).toBe('');
      expect(jar.header('https://example.com/')).toBe('s=1');
      expect(jar.header('http://localhost/')).toBe('l=1');
      expect(jar.header('http://127.0.0.1/')).toBe('ip=1');
    });

    it('refuses a Secure cookie set over plain http by a host that is not loopback', () => {
      const jar = new CookieJar();
      jar.store('http://example.com/', withCookies('s=1; Secure; Path=/', 'plain=1; Path=/'));
      expect(jar.names()).toEqual(['plain']);
      expect(jar.header('https://example.com/')).toBe('plain=1');
    });

    it('refuses a name and value larger than 4096 bytes', () => {
      const jar = new CookieJar();
      jar.store(
        'http://localhost/',
        withCookies(`fits=${'x'.repeat(4092)}; Path=/`, `big=${'x'.repeat(4094)}; Path=/`),
      );
      expect(jar.names()).toEqual(['fits']);
    });
  });

  describe('SameSite', () => {
    const site = 'https://app.example.com/';
    const all = [
      'strict=1; SameSite=Strict',
      'lax=1; SameSite=Lax',
      'none=1; SameSite=None; Secure',
      'unset=1',
    ];

    it('sends every cookie on a same-site request, the default', () => {
      const jar = new CookieJar();
      jar.store(site, withCookies(...all.map((c) => `${c}; Path=/; Secure`)));
      expect(jar.header(site)).toBe('strict=1; lax=1; none=1; unset=1');
      expect(jar.header(site, { sameSiteContext: 'strict' })).toBe(jar.header(site));
    });

    it('sends Lax, None and unspecified (Lax by default) cookies on a cross-site top-level navigation', () => {
      const jar = new CookieJar();
      jar.store(site, withCookies(...all.map((c) => `${c}; Path=/; Secure`)));
      expect(jar.header(site, { sameSiteContext: 'lax' })).toBe('lax=1; none=1; unset=1');
    });

    it('sends only SameSite=None cookies on any other cross-site request (a form_post, a fetch)', () => {
      const jar = new CookieJar();
      jar.store(site, withCookies(...all.map((c) => `${c}; Path=/; Secure`)));
      expect(jar.header(site, { sameSiteContext: 'none' })).toBe('none=1');
    });

    it('stores only SameSite=None cookies from a cross-site subresource response', () => {
      const jar = new CookieJar();
      jar.store(site, withCookies(...all.map((c) => `${c}; Path=/; Secure`)), { sameSiteContext: 'none' });
      expect(jar.names()).toEqual(['none']);
      const navigation = new CookieJar();
      navigation.store(site, withCookies(...all.map((c) => `${c}; Path=/; Secure`)), {
        sameSiteContext: 'lax',
      });
      expect(navigation.names()).toEqual(['strict', 'lax', 'none', 'unset']);
    });

    it('refuses SameSite=None without Secure', () => {
      const jar = new CookieJar();
      jar.store(
        'http://localhost/',
        withCookies('n=1; SameSite=None; Path=/', 'ns=1; SameSite=None; Secure; Path=/'),
      );
      expect(jar.names()).toEqual(['ns']);
      expect(jar.header('http://localhost/', { sameSiteContext: 'none' })).toBe('ns=1');
    });
  });

  describe('cookie prefixes', () => {
    it('accepts a __Host- cookie that is Secure, host-only, at Path=/, from a secure origin', () => {
      const jar = new CookieJar();
      jar.store('https://app.example.com/deep/page', withCookies('__Host-s=1; Secure; Path=/'));
      jar.store('http://localhost:8000/', withCookies('__Host-l=1; Secure; Path=/; HttpOnly; SameSite=Lax'));
      expect(jar.header('https://app.example.com/')).toBe('__Host-s=1');
      expect(jar.header('https://www.app.example.com/')).toBe('');
      expect(jar.header('http://localhost:8000/')).toBe('__Host-l=1');
    });

    it('refuses __Host- cookies without Secure, with Domain, with another or no Path, or over http', () => {
      const jar = new CookieJar();
      jar.store(
        'https://app.example.com/',
        withCookies(
          '__Host-noSecure=1; Path=/',
          '__Host-domain=1; Secure; Path=/; Domain=app.example.com',
          '__Host-path=1; Secure; Path=/app',
          // The default path of `/` is still not an explicit `Path=/`.
          '__Host-noPath=1; Secure',
        ),
      );
      jar.store('http://example.com/', withCookies('__Host-http=1; Secure; Path=/'));
      expect(jar.names()).toEqual([]);
    });

    it('refuses a __Secure- cookie without Secure', () => {
      const jar = new CookieJar();
      jar.store(
        'https://example.com/',
        withCookies('__Secure-a=1; Path=/', '__Secure-b=1; Secure; Domain=example.com; Path=/x'),
      );
      expect(jar.names()).toEqual(['__Secure-b']);
    });
  });
});
