import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../app-env.ts';
import type { AuthContext } from '../auth/actions.ts';
import { ApiError } from '../errors.ts';
import type { CookieToSet } from '../http/cookie-header.ts';
import { createLogger } from '../logger.ts';
import type { Session } from '../session/model/session.ts';
import type { OpenedSession, SessionStore } from '../session/store/store.ts';
import { handleErrors } from './error-handler.ts';
import { cookieParser, sessionLoader } from './session.ts';

const SESSION: Session = {
  sid: 'sid-1',
  idpSid: undefined,
  user: { sub: 'alice' },
  accessToken: 'at',
  accessTokenExpiresAt: 2_000_000_000,
  refreshToken: undefined,
  idToken: undefined,
  scope: 'openid',
  createdAt: 1_900_000_000,
  lastSeenAt: 1_900_000_000,
  expiresAt: 2_000_000_000,
};
const RENEWED: CookieToSet = {
  name: 'bff_session',
  value: 'renewed',
  maxAgeS: 600,
  sameSite: 'Lax',
  secure: true,
};

/**
 * A store whose `read` opens the cookie `bff_session=good` only, and records what it was given.
 * No other method may be called: the middleware only reads.
 */
function fakeStore(read?: SessionStore['read']) {
  const reads: Record<string, string>[] = [];
  const store = {
    read:
      read ??
      (async (cookies: Readonly<Record<string, string>>): Promise<OpenedSession | undefined> => {
        reads.push({ ...cookies });
        return cookies.bff_session === 'good' ? { session: SESSION, cookies: [RENEWED] } : undefined;
      }),
  };
  return { store: store as unknown as SessionStore, reads };
}

/**
 * `middleware` in front of a handler that answers what it found in the context (session id and
 * cookies); the store is handed over as the app does (`c.var.auth`), errors mapped as in `onError`.
 */
function makeApp(middleware: ReturnType<typeof sessionLoader>, store: SessionStore) {
  const reached: string[] = [];
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('auth', { sessions: store } as unknown as AuthContext);
    await next();
  });
  app.get('/x', middleware, (c) => {
    reached.push(c.req.path);
    return c.json({ sid: c.var.session?.sid ?? null, cookies: c.var.cookies });
  });
  app.onError(handleErrors(createLogger('silent')));
  return { app, reached };
}

const get = (app: Hono<AppEnv>, cookie?: string) =>
  app.request('/x', cookie === undefined ? {} : { headers: { cookie } });

describe('sessionLoader', () => {
  it.each<[string, string | undefined, string | null, Record<string, string>]>([
    ['no Cookie header: no session', undefined, null, {}],
    ['no session cookie: no session', 'theme=dark', null, { theme: 'dark' }],
    [
      'a cookie that does not open: no session, not an error',
      'bff_session=tampered',
      null,
      { bff_session: 'tampered' },
    ],
    [
      'a cookie that opens: its session',
      'theme=dark; bff_session=good',
      'sid-1',
      { theme: 'dark', bff_session: 'good' },
    ],
  ])('%s', async (_, cookie, sid, cookies) => {
    const { store, reads } = fakeStore();
    const { app, reached } = makeApp(sessionLoader(), store);
    const res = await get(app, cookie);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sid, cookies });
    expect(reads).toEqual([cookies]);
    expect(reached).toHaveLength(1);
  });

  it('adds the renewed cookie of an opened session to the answer', async () => {
    const { app } = makeApp(sessionLoader(), fakeStore().store);
    const res = await get(app, 'bff_session=good');
    expect(res.headers.getSetCookie()).toEqual([
      'bff_session=renewed; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax',
    ]);
  });

  it.each<[string, ReturnType<typeof sessionLoader>, string]>([
    [
      'with renew: false (logout ends the session instead)',
      sessionLoader({ renew: false }),
      'bff_session=good',
    ],
    ['when no session opened', sessionLoader(), 'bff_session=tampered'],
  ])('sets no cookie %s', async (_, loader, cookie) => {
    const { app } = makeApp(loader, fakeStore().store);
    const res = await get(app, cookie);
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('lets a store that cannot answer fail the request: 503 session_store_unavailable, the handler never runs', async () => {
    const { store } = fakeStore(async () => {
      throw new ApiError('session_store_unavailable', 'The session store is unavailable');
    });
    const { app, reached } = makeApp(sessionLoader(), store);
    const res = await get(app, 'bff_session=good');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'session_store_unavailable' });
    expect(reached).toEqual([]);
  });
});

describe('cookieParser', () => {
  it.each<[string, string | undefined, Record<string, string>]>([
    ['no Cookie header', undefined, {}],
    ['several cookies', 'a=1; b=two', { a: '1', b: 'two' }],
    ['a repeated name: the first wins', 'a=first; a=second', { a: 'first' }],
    ['percent-encoded values, decoded', 'a=x%3Dy', { a: 'x=y' }],
  ])('parses %s into c.var.cookies, and opens no session', async (_, cookie, cookies) => {
    const { store, reads } = fakeStore();
    const { app } = makeApp(cookieParser(), store);
    const res = await get(app, cookie);
    expect(await res.json()).toEqual({ sid: null, cookies });
    expect(reads).toEqual([]);
  });
});
