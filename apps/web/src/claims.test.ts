import { describe, expect, it } from 'vitest';
import { claimRows, describeAcr, displayName, looksLikeToken } from './claims.ts';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';

describe('claimRows', () => {
  it('joins arrays and keeps the claim order', () => {
    expect(claimRows({ sub: 'u1', groups: ['Everyone', 'Admins'], email_verified: true })).toEqual([
      { claim: 'sub', value: 'u1' },
      { claim: 'groups', value: 'Everyone, Admins' },
      { claim: 'email_verified', value: 'true' },
    ]);
  });

  it('drops token-named claims and JWT-looking values', () => {
    const rows = claimRows({
      sub: 'u1',
      id_token: 'opaque',
      accessToken: 'opaque',
      weird: JWT,
      list: ['a', JWT],
      iss: 'https://dev-123456.okta.com/oauth2/default',
    });
    expect(rows.map((r) => r.claim)).toEqual(['sub', 'iss']);
    expect(JSON.stringify(rows)).not.toContain('eyJ');
  });

  it('does not mistake host names or emails for tokens', () => {
    expect(looksLikeToken('dev-123456.okta.com')).toBe(false);
    expect(looksLikeToken('ada.lovelace@example.com')).toBe(false);
    expect(looksLikeToken(JWT)).toBe(true);
  });
});

describe('displayName', () => {
  it('prefers name, then falls back down to sub', () => {
    expect(displayName({ sub: 'u1', name: 'Ada Lovelace', email: 'a@x' })).toBe('Ada Lovelace');
    expect(displayName({ sub: 'u1', email: 'a@x' })).toBe('a@x');
    expect(displayName({ sub: 'u1', name: '  ' })).toBe('u1');
  });
});

describe('describeAcr', () => {
  it.each([
    ['urn:okta:loa:2fa:any', 'with a second factor'],
    ['phr', 'with a second factor'],
    ['phrh', 'with a second factor'],
    ['urn:okta:loa:1fa:pwd', 'with a password'],
  ])('says %s in words', (acr, words) => {
    expect(describeAcr(acr)).toEqual({ words });
  });

  it.each(['urn:okta:loa:1fa:any', 'urn:okta:loa:2fa:any:ifpossible', 'constructor', 'PHR'])(
    'gives %s as it came',
    (acr) => {
      expect(describeAcr(acr)).toEqual({ raw: acr });
    },
  );

  it('has nothing to say without an acr', () => {
    expect(describeAcr(null)).toBeNull();
    expect(describeAcr('')).toBeNull();
  });
});
