import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACR_PASSWORD,
  ACR_TWO_FACTOR,
  createDevClient,
  DEV_OTP_CODE,
  type DevIdp,
  OKTA_ACR_VALUES,
  startDevIdp,
} from './index.ts';
import { acrFor, factorsNeeded, missingForRequest, requestedAcrValues } from './step-up.ts';
import { alice, authorizeRequest, bob, login, tokenRequest } from './test-helpers.ts';
import { CookieJar, driveIdpLogin } from './testing/index.ts';

const TWO_FA = 'urn:okta:loa:2fa:any';
const nowS = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** No logout channels: nothing is sent to whatever listens on the default client's port 8000. */
const quietClient = () => createDevClient({ backchannelLogoutUri: null, frontchannelLogoutUri: null });

let idp: DevIdp;

beforeAll(async () => {
  idp = await startDevIdp({ port: 0, clients: [quietClient()] });
});
afterAll(async () => {
  await idp.close();
});
beforeEach(() => {
  idp.events.clear();
});

async function verified(tokens: Record<string, unknown>) {
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/v1/keys`));
  const { payload: id } = await jwtVerify(String(tokens.id_token), jwks, { issuer: idp.issuer });
  const { payload: at } = await jwtVerify(String(tokens.access_token), jwks, {
    issuer: idp.issuer,
    audience: 'api://default',
  });
  return { id, at };
}

/** Follows redirects by hand with `jar` from `url`, up to the first page (or the callback). */
async function browse(url: string, jar: CookieJar, init: { body?: URLSearchParams } = {}) {
  let next = url;
  let body = init.body;
  for (let hop = 0; hop < 10; hop++) {
    const cookie = jar.header(next);
    const response = await fetch(next, {
      method: body ? 'POST' : 'GET',
      headers: {
        accept: 'text/html',
        ...(cookie ? { cookie } : {}),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
      redirect: 'manual',
    });
    jar.store(next, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.arrayBuffer();
      next = new URL(location, next).href;
      body = undefined;
      if (new URL(next).origin !== idp.origin) return { url: next, status: response.status, html: '' };
      continue;
    }
    return { url: next, status: response.status, html: await response.text() };
  }
  throw new Error('too many redirects');
}

const formAction = (html: string, pageUrl: string) =>
  new URL(/<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? '', pageUrl).href;

describe('acr values (unit)', () => {
  it('keeps the known values in order and ignores the rest', () => {
    expect(requestedAcrValues('silver urn:okta:loa:2fa:any phr')).toEqual([TWO_FA, 'phr']);
    expect(requestedAcrValues(undefined)).toEqual([]);
  });

  it('needs two factors only when every known value does', () => {
    expect(factorsNeeded([])).toBe(1);
    expect(factorsNeeded([TWO_FA, 'phr', 'phrh', 'urn:okta:loa:2fa:any:ifpossible'])).toBe(2);
    expect(factorsNeeded(['urn:okta:loa:1fa:any', TWO_FA])).toBe(1);
  });

  it('names the first requested value the sign-in meets', () => {
    expect(acrFor(1, [])).toBe(ACR_PASSWORD);
    expect(acrFor(2, [])).toBe(ACR_TWO_FACTOR);
    expect(acrFor(2, ['phr', TWO_FA])).toBe('phr');
    expect(acrFor(1, [TWO_FA, 'urn:okta:loa:1fa:any'])).toBe('urn:okta:loa:1fa:any');
  });

  it('says what a session lacks', () => {
    const pwd = { acr: ACR_PASSWORD, amr: ['pwd'] };
    const twoFa = { acr: TWO_FA, amr: ['pwd', 'otp'] };
    expect(missingForRequest(pwd, [])).toBe('nothing');
    expect(missingForRequest(pwd, [TWO_FA])).toBe('second_factor');
    expect(missingForRequest(pwd, ['urn:okta:loa:1fa:any'])).toBe('label');
    expect(missingForRequest(twoFa, [TWO_FA])).toBe('nothing');
    expect(missingForRequest(twoFa, ['phr'])).toBe('label');
    // An `otp` without a password is not two factors.
    expect(missingForRequest({ amr: ['otp'] }, [TWO_FA])).toBe('second_factor');
  });
});

describe('discovery', () => {
  it("advertises Okta's acr values", async () => {
    const doc = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      acr_values_supported?: string[];
      claims_supported?: string[];
    };
    expect(doc.acr_values_supported).toEqual([...OKTA_ACR_VALUES]);
    expect(doc.claims_supported).toEqual(expect.arrayContaining(['acr', 'amr', 'auth_time']));
  });
});

describe('sign-in by password alone', () => {
  it('asks for no second factor without acr_values; the tokens say 1fa:pwd, pwd and auth_time', async () => {
    const before = nowS();
    const { tokens, pages } = await login(idp);
    expect(pages).toEqual(['login']);
    const { id, at } = await verified(tokens);
    expect(id).toMatchObject({ acr: ACR_PASSWORD, amr: ['pwd'], auth_time: expect.any(Number) });
    expect(id.auth_time).toBeGreaterThanOrEqual(before);
    expect(id.auth_time).toBeLessThanOrEqual(nowS());
    expect(at).toMatchObject({ acr: ACR_PASSWORD, auth_time: id.auth_time });
    expect(idp.events.logins).toMatchObject([
      {
        accountId: alice.claims.sub,
        acr: ACR_PASSWORD,
        factorsEntered: ['pwd'],
        requestedAcrValues: undefined,
      },
    ]);
  });

  it.each([
    ['urn:okta:loa:1fa:any', 'urn:okta:loa:1fa:any'],
    ['urn:okta:loa:1fa:pwd', 'urn:okta:loa:1fa:pwd'],
    // Any one value will do: the password meets the first.
    [`urn:okta:loa:1fa:any ${TWO_FA}`, 'urn:okta:loa:1fa:any'],
    // Unknown values are ignored.
    ['silver', ACR_PASSWORD],
  ])('asks for no second factor for acr_values=%s, and says acr %s', async (acrValues, acr) => {
    const { tokens, pages } = await login(idp, { params: { acr_values: acrValues } });
    expect(pages).toEqual(['login']);
    expect(decodeJwt(String(tokens.id_token))).toMatchObject({ acr, amr: ['pwd'] });
  });
});

describe('a second factor when acr_values asks for it', () => {
  it.each([
    [TWO_FA, TWO_FA],
    ['urn:okta:loa:2fa:any:ifpossible', 'urn:okta:loa:2fa:any:ifpossible'],
    ['phr', 'phr'],
    ['phrh phr', 'phrh'],
  ])('acr_values=%s: password, then the code; acr %s, amr pwd+otp', async (acrValues, acr) => {
    const { tokens, pages } = await login(idp, { params: { acr_values: acrValues } });
    expect(pages).toEqual(['login', 'otp']);
    const { id, at } = await verified(tokens);
    expect(id).toMatchObject({ acr, amr: ['pwd', 'otp'], auth_time: expect.any(Number) });
    expect(at).toMatchObject({ acr, auth_time: id.auth_time });
    expect(idp.events.logins).toMatchObject([{ acr, amr: ['pwd', 'otp'], factorsEntered: ['pwd', 'otp'] }]);
  });

  it('shows the development code on the page, and keeps the user there on a wrong code', async () => {
    const jar = new CookieJar();
    const request = authorizeRequest(idp, { params: { acr_values: TWO_FA } });
    const loginPage = await browse(request.url, jar);
    expect(loginPage.html).toContain('name="password"');
    const otpPage = await browse(formAction(loginPage.html, loginPage.url), jar, {
      body: new URLSearchParams({ username: bob.login, password: bob.password }),
    });
    expect(otpPage.status).toBe(200);
    expect(otpPage.html).toContain('name="otp"');
    expect(otpPage.html).toContain(bob.login);
    expect(/id="dev-otp-code">(\d+)</.exec(otpPage.html)?.[1]).toBe(DEV_OTP_CODE);

    const wrong = await browse(formAction(otpPage.html, otpPage.url), jar, {
      body: new URLSearchParams({ otp: '000000' }),
    });
    expect(wrong.status).toBe(200);
    expect(wrong.html).toContain('name="otp"');
    expect(wrong.html).toMatch(/role="alert"[^>]*>That code is not valid/);
    expect(wrong.html).toContain('aria-invalid="true"');
    expect(idp.events.logins).toEqual([]);

    const right = await browse(formAction(wrong.html, wrong.url), jar, {
      body: new URLSearchParams({ otp: DEV_OTP_CODE }),
    });
    expect(new URL(right.url).searchParams.get('code')).toMatch(/.+/);
    expect(idp.events.logins).toMatchObject([{ accountId: bob.claims.sub, acr: TWO_FA }]);
  });

  it('driveIdpLogin reports a refused code', async () => {
    await expect(login(idp, { params: { acr_values: TWO_FA }, otp: '654321' })).rejects.toMatchObject({
      name: 'IdpLoginError',
      code: 'otp_rejected',
      message: expect.stringContaining('not valid'),
    });
  });

  it('refuses a code posted where the password was not given', async () => {
    const jar = new CookieJar();
    const loginPage = await browse(authorizeRequest(idp, { params: { acr_values: TWO_FA } }).url, jar);
    const otpUrl = formAction(loginPage.html, loginPage.url).replace(/\/login$/, '/otp');
    const forged = await browse(otpUrl, jar, { body: new URLSearchParams({ otp: DEV_OTP_CODE }) });
    expect(forged.status).toBe(400);
    expect(forged.html).toContain('no sign-in is waiting for a one-time code');
    expect(idp.events.logins).toEqual([]);
  });
});

describe('an existing IdP session', () => {
  it('with the password only: a 2fa request asks for the code alone, and auth_time moves to it', async () => {
    const jar = new CookieJar();
    const first = await login(idp, { jar });
    const firstAuthTime = decodeJwt(String(first.tokens.id_token)).auth_time as number;
    await sleep(1100);

    const stepUp = await login(idp, { jar, params: { acr_values: TWO_FA } });
    expect(stepUp.pages).toEqual(['otp']);
    const { id, at } = await verified(stepUp.tokens);
    expect(id).toMatchObject({ sub: alice.claims.sub, acr: TWO_FA, amr: ['pwd', 'otp'] });
    expect(id.auth_time).toBeGreaterThan(firstAuthTime);
    expect(at).toMatchObject({ acr: TWO_FA, auth_time: id.auth_time });
    expect(idp.events.logins.at(-1)).toMatchObject({ factorsEntered: ['otp'] });

    // Now the session has both factors: neither page again, for 2fa or for nothing in particular.
    const again = await login(idp, { jar, params: { acr_values: TWO_FA } });
    expect(again.pages).toEqual([]);
    expect(decodeJwt(String(again.tokens.id_token))).toMatchObject({ acr: TWO_FA, auth_time: id.auth_time });
    const plain = await login(idp, { jar });
    expect(plain.pages).toEqual([]);
    expect(decodeJwt(String(plain.tokens.id_token))).toMatchObject({ acr: TWO_FA, amr: ['pwd', 'otp'] });
  });

  it('with both factors: another strong value is named without a page, auth_time kept', async () => {
    const jar = new CookieJar();
    const first = await login(idp, { jar, params: { acr_values: TWO_FA } });
    const authTime = decodeJwt(String(first.tokens.id_token)).auth_time;
    const phr = await login(idp, { jar, params: { acr_values: 'phr' } });
    expect(phr.pages).toEqual([]);
    expect(decodeJwt(String(phr.tokens.id_token))).toMatchObject({
      acr: 'phr',
      amr: ['pwd', 'otp'],
      auth_time: authTime,
    });
    expect(idp.events.logins.at(-1)).toMatchObject({ acr: 'phr', factorsEntered: [] });
    // A weaker value is named too; the factors stay, so 2fa needs no code afterwards.
    const weaker = await login(idp, { jar, params: { acr_values: 'urn:okta:loa:1fa:any' } });
    expect(decodeJwt(String(weaker.tokens.id_token))).toMatchObject({ acr: 'urn:okta:loa:1fa:any' });
    const twoFa = await login(idp, { jar, params: { acr_values: TWO_FA } });
    expect(twoFa.pages).toEqual([]);
    expect(decodeJwt(String(twoFa.tokens.id_token))).toMatchObject({ acr: TWO_FA, auth_time: authTime });
  });
});

describe('max_age and prompt=login', () => {
  it('a session younger than max_age is reused with its auth_time', async () => {
    const jar = new CookieJar();
    const first = await login(idp, { jar });
    const again = await login(idp, { jar, params: { max_age: '300' } });
    expect(again.pages).toEqual([]);
    expect(decodeJwt(String(again.tokens.id_token)).auth_time).toBe(
      decodeJwt(String(first.tokens.id_token)).auth_time,
    );
  });

  it('a session older than max_age signs in again', async () => {
    const jar = new CookieJar();
    const first = await login(idp, { jar });
    await sleep(2100);
    const again = await login(idp, { jar, params: { max_age: '1' } });
    expect(again.pages).toEqual(['login']);
    const authTime = decodeJwt(String(again.tokens.id_token)).auth_time as number;
    expect(authTime).toBeGreaterThan(decodeJwt(String(first.tokens.id_token)).auth_time as number);
    expect(authTime).toBeGreaterThanOrEqual(nowS() - 1);
  });

  it.each([
    ['max_age=0', { max_age: '0' }],
    ['prompt=login', { prompt: 'login' }],
  ])('%s signs in again at once', async (_, params) => {
    const jar = new CookieJar();
    await login(idp, { jar });
    const again = await login(idp, { jar, params });
    expect(again.pages).toEqual(['login']);
  });

  it('max_age=0 with a 2fa request on a two-factor session asks for both again', async () => {
    const jar = new CookieJar();
    await login(idp, { jar, params: { acr_values: TWO_FA } });
    const again = await login(idp, { jar, params: { acr_values: TWO_FA, max_age: '0' } });
    expect(again.pages).toEqual(['login', 'otp']);
    expect(decodeJwt(String(again.tokens.id_token))).toMatchObject({ acr: TWO_FA });
  });

  it('a session older than max_age with a 2fa request asks for the password and the code', async () => {
    const jar = new CookieJar();
    await login(idp, { jar });
    await sleep(2100);
    const again = await login(idp, { jar, params: { acr_values: TWO_FA, max_age: '1' } });
    expect(again.pages).toEqual(['login', 'otp']);
    const id = decodeJwt(String(again.tokens.id_token));
    expect(id).toMatchObject({ acr: TWO_FA, amr: ['pwd', 'otp'] });
    expect(id.auth_time).toBeGreaterThanOrEqual(nowS() - 1);
  });
});

describe('refresh', () => {
  it('keeps the sign-in’s acr and auth_time in the refreshed access and ID tokens', async () => {
    const { tokens } = await login(idp, {
      scope: 'openid profile offline_access',
      params: { acr_values: TWO_FA },
    });
    const original = decodeJwt(String(tokens.access_token));
    expect(original).toMatchObject({ acr: TWO_FA, auth_time: expect.any(Number) });
    await sleep(1100);

    let refreshToken = String(tokens.refresh_token);
    for (let round = 0; round < 2; round++) {
      const refreshed = await tokenRequest(idp, { grant_type: 'refresh_token', refresh_token: refreshToken });
      expect(refreshed.status).toBe(200);
      refreshToken = String(refreshed.body.refresh_token);
      const { id, at } = await verified(refreshed.body);
      expect(at.iat).toBeGreaterThan(original.iat as number);
      expect(at).toMatchObject({ acr: TWO_FA, auth_time: original.auth_time });
      expect(id).toMatchObject({ acr: TWO_FA, amr: ['pwd', 'otp'], auth_time: original.auth_time });
    }
  });
});

describe('ignoreAcrValues', () => {
  let ignoring: DevIdp;
  beforeAll(async () => {
    ignoring = await startDevIdp({ port: 0, ignoreAcrValues: true, clients: [quietClient()] });
  });
  afterAll(async () => {
    await ignoring.close();
  });

  it('still advertises acr_values, takes them, and signs in with the password alone', async () => {
    const doc = (await (await fetch(`${ignoring.issuer}/.well-known/openid-configuration`)).json()) as {
      acr_values_supported?: string[];
    };
    expect(doc.acr_values_supported).toEqual([...OKTA_ACR_VALUES]);

    const jar = new CookieJar();
    const { tokens, pages } = await login(ignoring, { jar, params: { acr_values: TWO_FA } });
    expect(pages).toEqual(['login']);
    expect(decodeJwt(String(tokens.id_token))).toMatchObject({ acr: ACR_PASSWORD, amr: ['pwd'] });
    expect(decodeJwt(String(tokens.access_token))).toMatchObject({ acr: ACR_PASSWORD });
    expect(ignoring.events.logins).toMatchObject([{ acr: ACR_PASSWORD, requestedAcrValues: TWO_FA }]);

    // The password-only session is reused for the next 2fa request, without any page.
    const again = await login(ignoring, { jar, params: { acr_values: 'phr' } });
    expect(again.pages).toEqual([]);
    expect(decodeJwt(String(again.tokens.id_token))).toMatchObject({ acr: ACR_PASSWORD });
  });

  it('still honours max_age', async () => {
    const jar = new CookieJar();
    await login(ignoring, { jar });
    const again = await login(ignoring, { jar, params: { acr_values: TWO_FA, max_age: '0' } });
    expect(again.pages).toEqual(['login']);
  });
});

describe('driveIdpLogin', () => {
  it('fills the code page with the development code by default', async () => {
    const pages: string[] = [];
    const callback = await driveIdpLogin({
      authorizeUrl: authorizeRequest(idp, { params: { acr_values: TWO_FA } }).url,
      username: alice.login,
      password: alice.password,
      onPage: (page) => pages.push(page),
    });
    expect(pages).toEqual(['login', 'otp']);
    expect(new URL(callback.url).searchParams.get('code')).toMatch(/.+/);
  });
});
