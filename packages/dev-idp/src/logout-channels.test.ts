import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEV_IDP } from '@okta-bff/oidc';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  createDevClient,
  createDevClientFor,
  type DevIdp,
  startDevIdp,
} from './index.ts';
import { alice, authorizeRequest, login } from './test-helpers.ts';
import { CookieJar, driveIdpLogin, driveIdpLogout, parseFrontchannelLogoutPage } from './testing/index.ts';

/** What the stand-in client received. */
interface ReceivedRequest {
  readonly method: string;
  readonly url: URL;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A tiny client app: records every request and answers `status` (200 unless a test says otherwise). */
let app: Server;
let appOrigin: string;
let appStatus = 200;
const received: ReceivedRequest[] = [];

let idp: DevIdp;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: new URL(req.url ?? '/', appOrigin),
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(appStatus, { 'content-type': 'text/plain' }).end();
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://localhost:${(app.address() as AddressInfo).port}`;
  idp = await startDevIdp({ port: 0, clients: [createDevClientFor(appOrigin)] });
  jwks = createRemoteJWKSet(new URL(`${idp.issuer}/v1/keys`));
});
afterAll(async () => {
  await idp.close();
  app.closeAllConnections();
  await new Promise((resolve) => app.close(resolve));
});
beforeEach(() => {
  idp.events.clear();
  received.length = 0;
  appStatus = 200;
});

/** Signs alice in with `jar` as the browser, and returns the ID token and the logout URL. */
async function signIn(jar: CookieJar) {
  const { tokens } = await login(idp, { jar, redirectUri: `${appOrigin}/authorization-code/callback` });
  const idToken = String(tokens.id_token);
  const logoutUrl = new URL(`${idp.issuer}/v1/logout`);
  logoutUrl.search = new URLSearchParams({
    id_token_hint: idToken,
    post_logout_redirect_uri: `${appOrigin}/`,
    state: 'after-logout',
  }).toString();
  return { idToken, sid: decodeJwt(idToken).sid, logoutUrl };
}

/** Whether the jar still has an IdP session: a login through it would then need no password. */
async function idpSessionEnded(jar: CookieJar): Promise<boolean> {
  const attempt = driveIdpLogin({
    authorizeUrl: authorizeRequest(idp, { redirectUri: `${appOrigin}/authorization-code/callback` }).url,
    username: 'x',
    password: 'x',
    jar,
  });
  return attempt.then(
    () => false,
    (error: unknown) => (error as { code?: string }).code === 'login_rejected',
  );
}

const backchannelPosts = () =>
  received.filter((request) => request.url.pathname === '/auth/backchannel-logout');
const frontchannelGets = () =>
  received.filter((request) => request.url.pathname === '/auth/frontchannel-logout');

describe('discovery', () => {
  it('advertises both logout channels with session support', async () => {
    const doc = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    expect(doc).toMatchObject({
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
    });
  });
});

describe('back-channel logout', () => {
  it('puts sid in the ID token and POSTs a valid logout token for it when the IdP session ends', async () => {
    const jar = new CookieJar();
    const { sid, logoutUrl } = await signIn(jar);
    expect(sid).toEqual(expect.any(String));

    const back = await driveIdpLogout({ logoutUrl, jar });
    expect(back.url).toBe(`${appOrigin}/?state=after-logout`);
    expect(await idpSessionEnded(jar)).toBe(true);

    const posts = backchannelPosts();
    expect(posts).toHaveLength(1);
    const [post] = posts;
    expect(post?.method).toBe('POST');
    expect(post?.contentType).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(post?.body);
    expect([...form.keys()]).toEqual(['logout_token']);

    const token = form.get('logout_token') ?? '';
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: idp.issuer,
      audience: DEV_IDP.clientId,
      algorithms: ['RS256'],
      typ: 'logout+jwt',
    });
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({ sid, sub: alice.claims.sub, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.iat).toEqual(expect.any(Number));
    expect(payload.nonce).toBeUndefined();

    expect(idp.events.backchannelLogouts).toMatchObject([
      { clientId: DEV_IDP.clientId, sid, sub: alice.claims.sub, ok: true },
    ]);
    // The record never holds the token.
    expect(JSON.stringify(idp.events.backchannelLogouts)).not.toContain(token);
  });

  it('is best effort: a client answering 404 does not stop the logout', async () => {
    appStatus = 404;
    const jar = new CookieJar();
    const { sid, logoutUrl } = await signIn(jar);

    const back = await driveIdpLogout({ logoutUrl, jar, loadFrames: false });
    expect(back.url).toBe(`${appOrigin}/?state=after-logout`);
    expect(await idpSessionEnded(jar)).toBe(true);
    expect(backchannelPosts()).toHaveLength(1);
    expect(idp.events.backchannelLogouts).toMatchObject([
      { clientId: DEV_IDP.clientId, sid, ok: false, status: 404, error: expect.stringContaining('404') },
    ]);
  });

  it('sends nothing when the browser had no IdP session', async () => {
    const { logoutUrl } = await signIn(new CookieJar());
    const back = await driveIdpLogout({ logoutUrl, jar: new CookieJar() });
    expect(back).toEqual({ url: `${appOrigin}/?state=after-logout`, frontchannelLogoutUrls: [] });
    expect(received).toEqual([]);
    expect(idp.events.backchannelLogouts).toEqual([]);
    expect(idp.events.frontchannelLogouts).toEqual([]);
  });
});

describe('front-channel logout', () => {
  it('renders an iframe with iss and sid per client of the session, then continues', async () => {
    const jar = new CookieJar();
    const { sid, logoutUrl } = await signIn(jar);

    const logout = await fetch(logoutUrl, {
      headers: { cookie: jar.header(logoutUrl.href) },
      redirect: 'manual',
    });
    expect(logout.status).toBe(303);
    const confirmUrl = new URL(logout.headers.get('location') ?? '', logoutUrl).href;
    const page = await fetch(confirmUrl, { headers: { cookie: jar.header(confirmUrl) }, redirect: 'manual' });
    jar.store(confirmUrl, page);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('location')).toBeNull();
    const html = await page.text();

    const frameUrl = new URL('/auth/frontchannel-logout', appOrigin);
    frameUrl.search = new URLSearchParams({ iss: idp.issuer, sid: String(sid) }).toString();
    expect(html).toContain(`<iframe hidden src="${frameUrl.href.replaceAll('&', '&amp;')}"`);
    expect(parseFrontchannelLogoutPage(html, confirmUrl)).toEqual({
      frameUrls: [frameUrl.href],
      continueUrl: `${appOrigin}/?state=after-logout`,
    });
    expect(idp.events.frontchannelLogouts).toMatchObject([
      { clientId: DEV_IDP.clientId, sid, url: frameUrl.href },
    ]);

    // The page's CSP lets its one inline script run, and frames the client's origin only.
    const csp = page.headers.get('content-security-policy') ?? '';
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(script).toContain("location.replace(document.getElementById('continue').href)");
    const digest = createHash('sha256').update(script).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${digest}'`);
    expect(csp).toContain(`frame-src ${appOrigin};`);
    expect(csp).toContain("frame-ancestors 'none'");

    // The session ended before the page rendered, whether or not anything loads the frames.
    expect(await idpSessionEnded(jar)).toBe(true);
    expect(frontchannelGets()).toEqual([]);
  });

  it('is loaded by driveIdpLogout like a browser would', async () => {
    const jar = new CookieJar();
    const { sid, logoutUrl } = await signIn(jar);
    const back = await driveIdpLogout({ logoutUrl, jar });
    expect(back.url).toBe(`${appOrigin}/?state=after-logout`);
    expect(back.frontchannelLogoutUrls).toHaveLength(1);
    const gets = frontchannelGets();
    expect(gets.map((request) => request.method)).toEqual(['GET']);
    expect(Object.fromEntries(gets[0]?.url.searchParams ?? [])).toEqual({ iss: idp.issuer, sid });
  });

  it('ends the IdP session for a plain HTTP client that follows redirects and runs no script', async () => {
    const jar = new CookieJar();
    const { logoutUrl } = await signIn(jar);
    const response = await fetch(logoutUrl, { headers: { cookie: jar.header(logoutUrl.href) } });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expect(idp.events.endSessions).toMatchObject([{ hadSession: true }]);
    expect(await idpSessionEnded(jar)).toBe(true);
    expect(backchannelPosts()).toHaveLength(1);
  });
});

describe('signLogoutToken', () => {
  it('signs a logout token that verifies with the published JWKS', async () => {
    const token = await idp.signLogoutToken({ sid: 'sid-1', sub: alice.claims.sub });
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: idp.issuer,
      audience: DEV_IDP.clientId,
      algorithms: ['RS256'],
      typ: 'logout+jwt',
    });
    expect(payload).toMatchObject({
      sid: 'sid-1',
      sub: alice.claims.sub,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    });
    expect(payload.exp).toBe((payload.iat ?? 0) + 120);
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.jti).not.toBe(decodeJwt(await idp.signLogoutToken({ sid: 'sid-1' })).jti);
    const { keys } = (await (await fetch(`${idp.issuer}/v1/keys`)).json()) as { keys: { kid: string }[] };
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: keys[0]?.kid, typ: 'logout+jwt' });
  });

  it('overrides and removes claims and header parameters on request', async () => {
    const token = await idp.signLogoutToken(
      { sid: 'sid-2', nonce: 'n', jti: undefined, events: undefined, aud: 'someone-else' },
      { typ: undefined, kid: 'unknown-key' },
    );
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: idp.issuer, sid: 'sid-2', nonce: 'n', aud: 'someone-else' });
    expect(claims.jti).toBeUndefined();
    expect(claims.events).toBeUndefined();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: 'unknown-key' });
    await expect(jwtVerify(token, jwks)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});

describe('client registration', () => {
  it("registers the BFF's logout routes on the first origin, with sid required", () => {
    expect(createDevClientFor('http://localhost:1234', 'https://bff.example')).toMatchObject({
      backchannel_logout_uri: 'http://localhost:1234/auth/backchannel-logout',
      backchannel_logout_session_required: true,
      frontchannel_logout_uri: 'http://localhost:1234/auth/frontchannel-logout',
      frontchannel_logout_session_required: true,
    });
    // `pnpm dev`'s client: the BFF on :8000.
    expect(createDevClient()).toMatchObject({
      backchannel_logout_uri: 'http://localhost:8000/auth/backchannel-logout',
      frontchannel_logout_uri: 'http://localhost:8000/auth/frontchannel-logout',
    });
    const without = createDevClient({ backchannelLogoutUri: null, frontchannelLogoutUri: null });
    expect(Object.keys(without).filter((key) => key.includes('channel_logout'))).toEqual([]);
  });

  it('refuses a frontchannel_logout_uri with a fragment at start', async () => {
    const client = { ...createDevClientFor(appOrigin), frontchannel_logout_uri: `${appOrigin}/logout#x` };
    await expect(startDevIdp({ port: 0, clients: [client] })).rejects.toThrow(
      /invalid client .*frontchannel_logout_uri must be an absolute http\(s\) URL without a fragment/,
    );
  });
});
