import { CSRF_HEADER, CSRF_HEADER_VALUE } from '@okta-bff/oidc';
import { describe, expect, it } from 'vitest';
import { checkRequestOrigin, type OriginHeaders } from './request-origin.ts';

const ORIGIN = 'https://app.example';

/** What the app itself sends from its own page: the custom header, its origin, `same-origin`. */
const FROM_APP: OriginHeaders = { csrf: CSRF_HEADER_VALUE, origin: ORIGIN, secFetchSite: 'same-origin' };
const NO_CSRF = `no ${CSRF_HEADER} header`;
const BAD_ORIGIN = 'Origin is not the app origin';

describe('checkRequestOrigin: allowed', () => {
  it.each<[string, Partial<OriginHeaders>]>([
    ['the app’s own call (header, Origin, same-origin)', {}],
    [
      'the header without Origin or Sec-Fetch-Site (curl, an older browser)',
      { origin: undefined, secFetchSite: undefined },
    ],
    ['the header and Origin, without Sec-Fetch-Site', { secFetchSite: undefined }],
    ['the header and same-origin, without Origin (a same-origin GET)', { origin: undefined }],
  ])('%s', (_, change) => {
    expect(checkRequestOrigin({ ...FROM_APP, ...change }, ORIGIN)).toEqual({ ok: true });
  });
});

describe('checkRequestOrigin: refused', () => {
  it.each<[string, Partial<OriginHeaders>, string]>([
    // 1. The custom header, exactly.
    ['no custom header, even with Origin and same-origin right', { csrf: undefined }, NO_CSRF],
    ['the custom header empty', { csrf: '' }, NO_CSRF],
    ['the custom header with another value', { csrf: 'true' }, NO_CSRF],
    ['the custom header with spaces', { csrf: ` ${CSRF_HEADER_VALUE} ` }, NO_CSRF],
    [
      'no custom header and a foreign Origin: the header is checked first',
      { csrf: undefined, origin: 'https://evil.example' },
      NO_CSRF,
    ],
    // 2. Origin, when sent, is the app's exactly.
    ['another site’s Origin', { origin: 'https://evil.example' }, BAD_ORIGIN],
    ['a sibling subdomain’s Origin', { origin: 'https://evil.app.example' }, BAD_ORIGIN],
    ['the app’s host over http', { origin: 'http://app.example' }, BAD_ORIGIN],
    ['the app’s host on another port', { origin: 'https://app.example:8443' }, BAD_ORIGIN],
    ['the app’s origin with a trailing slash', { origin: `${ORIGIN}/` }, BAD_ORIGIN],
    ['the app’s origin in upper case', { origin: ORIGIN.toUpperCase() }, BAD_ORIGIN],
    ['Origin: null (a sandboxed frame, a data: URL)', { origin: 'null' }, BAD_ORIGIN],
    ['an empty Origin', { origin: '' }, BAD_ORIGIN],
    ['two Origin headers joined', { origin: `${ORIGIN}, https://evil.example` }, BAD_ORIGIN],
    // 3. Sec-Fetch-Site, when sent, is same-origin.
    [
      'Sec-Fetch-Site: same-site (a sibling subdomain)',
      { secFetchSite: 'same-site' },
      'Sec-Fetch-Site is same-site',
    ],
    ['Sec-Fetch-Site: cross-site', { secFetchSite: 'cross-site' }, 'Sec-Fetch-Site is cross-site'],
    ['Sec-Fetch-Site: none (typed in the address bar)', { secFetchSite: 'none' }, 'Sec-Fetch-Site is none'],
    [
      'a long Sec-Fetch-Site, cut to 20 characters in the reason',
      { secFetchSite: 'cross-site-and-then-some-more' },
      'Sec-Fetch-Site is cross-site-and-then-',
    ],
  ])('%s', (_, change, reason) => {
    expect(checkRequestOrigin({ ...FROM_APP, ...change }, ORIGIN)).toEqual({ ok: false, reason });
  });
});
