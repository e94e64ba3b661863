import { describe, expect, it } from 'vitest';
import { createStepUpCodec, meetsStepUp, parseStepUpChallenge, stepUpReturnTo } from './step-up.ts';

describe('parseStepUpChallenge (RFC 9470 §3)', () => {
  it.each([
    [
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"',
      { acrValues: ['myACR'], maxAgeS: undefined },
    ],
    [
      'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"',
      { acrValues: [], maxAgeS: 5 },
    ],
    [
      'DPoP algs="ES256", error=insufficient_user_authentication, acr_values="urn:okta:loa:2fa:any phr", max_age=300',
      { acrValues: ['urn:okta:loa:2fa:any', 'phr'], maxAgeS: 300 },
    ],
    ['Bearer error="insufficient_user_authentication"', { acrValues: [], maxAgeS: 0 }],
    [
      ['Basic realm="x"', 'Bearer error="insufficient_user_authentication", acr_values="a"'],
      { acrValues: ['a'], maxAgeS: undefined },
    ],
  ])('%s', (header, expected) => {
    expect(parseStepUpChallenge(header)).toEqual(expected);
  });

  it.each([
    undefined,
    '',
    'Bearer error="invalid_token"',
    'Bearer realm="x", error="invalid_token", error_description="not insufficient_user_authentication"',
    'Basic error="insufficient_user_authentication"',
    'Bearer error="insufficient_user_authentication", max_age="-1"',
    'Bearer error="insufficient_user_authentication", max_age="1.5"',
    `Bearer error="insufficient_user_authentication", acr_values="${'a '.repeat(9)}"`,
    `Bearer error="insufficient_user_authentication", acr_values="${'x'.repeat(129)}"`,
  ])('is no step-up challenge: %s', (header) => {
    expect(parseStepUpChallenge(header)).toBeUndefined();
  });
});

describe('meetsStepUp', () => {
  const now = 1_000_000;
  it('needs an acr among the values and an auth_time within max_age (+60 s skew)', () => {
    const twoFa = { acrValues: ['urn:okta:loa:2fa:any'], maxAgeS: 300 };
    expect(meetsStepUp({ acr: 'urn:okta:loa:2fa:any', authTimeS: now - 100 }, twoFa, now)).toBe(true);
    expect(meetsStepUp({ acr: 'urn:okta:loa:1fa:pwd', authTimeS: now - 100 }, twoFa, now)).toBe(false);
    expect(meetsStepUp({ acr: undefined, authTimeS: now - 100 }, twoFa, now)).toBe(false);
    expect(meetsStepUp({ acr: 'urn:okta:loa:2fa:any', authTimeS: now - 360 }, twoFa, now)).toBe(true);
    expect(meetsStepUp({ acr: 'urn:okta:loa:2fa:any', authTimeS: now - 361 }, twoFa, now)).toBe(false);
    expect(meetsStepUp({ acr: 'urn:okta:loa:2fa:any', authTimeS: undefined }, twoFa, now)).toBe(false);
    expect(
      meetsStepUp({ acr: undefined, authTimeS: undefined }, { acrValues: [], maxAgeS: undefined }, now),
    ).toBe(true);
  });
});

describe('the pending step-up cookie', () => {
  const codec = createStepUpCodec(['a-session-secret-of-at-least-32-chars!!'], false);
  const requirement = { acrValues: ['urn:okta:loa:2fa:any'], maxAgeS: 300 };

  it('opens only with its own id, before it expires, sealed so the page can neither read nor change it', async () => {
    const { pending, cookie } = await codec.create(requirement, '/items', 1_000);
    const cookies = { [codec.cookieName]: cookie.value };
    expect(cookie.value).not.toContain('2fa');
    expect(await codec.take(cookies, pending.id, 1_100)).toEqual(pending);
    expect(await codec.take(cookies, 'another-id', 1_100)).toBeUndefined();
    expect(await codec.take(cookies, pending.id, 1_000 + 601)).toBeUndefined();
    expect(await codec.take({}, pending.id, 1_100)).toBeUndefined();
    const tampered = { [codec.cookieName]: `${cookie.value.slice(0, -2)}AA` };
    expect(await codec.take(tampered, pending.id, 1_100)).toBeUndefined();
  });
});

describe('stepUpReturnTo', () => {
  it.each([
    ['http://app.test/items?x=1', '/items?x=1'],
    ['https://evil.example/items', '/'],
    [undefined, '/'],
    ['not a url', '/'],
  ])('%s → %s', (referer, expected) => {
    expect(stepUpReturnTo(referer, 'http://app.test')).toBe(expected);
  });
});
