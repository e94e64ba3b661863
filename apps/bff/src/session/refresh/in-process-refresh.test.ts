import { describe, expect, it } from 'vitest';
import type { Session } from '../model/session.ts';
import { createInProcessRefresh, ROTATED_RESULT_GRACE_S } from './in-process-refresh.ts';
import type { RefreshFunction, RefreshResult, SessionTokens } from './refresh.ts';

const NOW = 1_000_000;
const base: Session = {
  sid: 's1',
  idpSid: undefined,
  user: { sub: 'u1' },
  accessToken: 'at-0',
  accessTokenExpiresAt: NOW + 30,
  refreshToken: 'rt-0',
  idToken: 'id-0',
  scope: 'openid',
  createdAt: NOW - 60,
  lastSeenAt: NOW - 60,
  expiresAt: NOW + 3600,
};

/** A refresh function that records the refresh tokens it was given. */
function counter(result: (rt: string, n: number) => Promise<RefreshResult>) {
  const calls: string[] = [];
  const refresh: RefreshFunction = (session) => {
    calls.push(session.refreshToken);
    return result(session.refreshToken, calls.length);
  };
  return { calls, refresh };
}

const rotated = (n: number): RefreshResult => ({
  ok: true,
  tokens: {
    accessToken: `at-${n}`,
    accessTokenExpiresAt: NOW + 3600,
    refreshToken: `rt-${n}`,
    idToken: undefined,
    scope: undefined,
  } satisfies SessionTokens,
});

describe('in-process refresh', () => {
  it('leaves a token with more than 60 s alone', async () => {
    const c = counter(async (_, n) => rotated(n));
    const r = createInProcessRefresh({ refresh: c.refresh, nowS: () => NOW });
    const out = await r.ensureFresh({ ...base, accessTokenExpiresAt: NOW + 61 });
    expect(out).toMatchObject({ kind: 'fresh', changed: false });
    expect(c.calls).toEqual([]);
  });

  it('refreshes once for many concurrent callers and reuses the result for the old cookie', async () => {
    const c = counter(async (_, n) => {
      await new Promise((r) => setTimeout(r, 20));
      return rotated(n);
    });
    const r = createInProcessRefresh({ refresh: c.refresh, nowS: () => NOW });
    const results = await Promise.all(Array.from({ length: 20 }, () => r.ensureFresh(base)));
    expect(c.calls).toEqual(['rt-0']);
    for (const out of results)
      expect(out).toMatchObject({
        kind: 'fresh',
        changed: true,
        session: {
          accessToken: 'at-1',
          refreshToken: 'rt-1',
          idToken: 'id-0',
          sid: 's1',
          expiresAt: base.expiresAt,
        },
      });
    const late = await r.ensureFresh(base);
    expect(late).toMatchObject({ kind: 'fresh', session: { refreshToken: 'rt-1' } });
    expect(c.calls).toHaveLength(1);
  });

  it('shares a rotation with the pre-rotation cookie for 30 s at most, then asks the IdP again', async () => {
    let now = NOW;
    const c = counter(async (rt, n) =>
      n === 1 ? rotated(n) : { ok: false, failure: 'refused', cause: new Error(`${rt} was rotated`) },
    );
    const r = createInProcessRefresh({ refresh: c.refresh, nowS: () => now });
    expect(ROTATED_RESULT_GRACE_S).toBeLessThanOrEqual(30);
    await r.ensureFresh(base);
    now = NOW + ROTATED_RESULT_GRACE_S - 1;
    expect(await r.ensureFresh(base)).toMatchObject({ kind: 'fresh', session: { refreshToken: 'rt-1' } });
    expect(c.calls).toEqual(['rt-0']);
    now = NOW + ROTATED_RESULT_GRACE_S + 1;
    expect(await r.ensureFresh(base)).toMatchObject({ kind: 'ended', reason: 'refused' });
    expect(c.calls).toEqual(['rt-0', 'rt-0']);
  });

  it('ends the session on a refused grant, an invalid answer, and an expired token without a refresh token', async () => {
    for (const failure of ['refused', 'invalid_response'] as const) {
      const r = createInProcessRefresh({
        refresh: async () => ({ ok: false, failure, cause: 'x' }),
        nowS: () => NOW,
      });
      expect(await r.ensureFresh(base)).toMatchObject({ kind: 'ended', reason: failure });
      // Even while the old access token still has seconds left: the IdP's answer was not believable.
      expect(await r.ensureFresh({ ...base, accessTokenExpiresAt: NOW + 5 })).toMatchObject({
        kind: 'ended',
      });
    }
    const none = createInProcessRefresh({
      refresh: () => Promise.reject(new Error('not called')),
      nowS: () => NOW,
    });
    expect(
      await none.ensureFresh({ ...base, refreshToken: undefined, accessTokenExpiresAt: NOW - 1 }),
    ).toEqual({
      kind: 'ended',
      reason: 'no_refresh_token',
    });
    expect(await none.ensureFresh({ ...base, refreshToken: undefined })).toMatchObject({
      kind: 'fresh',
      changed: false,
    });
  });

  it('keeps using a still-valid token while the IdP is down, and reports an expired one as unavailable', async () => {
    const down = createInProcessRefresh({
      refresh: async () => ({ ok: false, failure: 'unavailable', cause: new Error('down') }),
      nowS: () => NOW,
    });
    expect(await down.ensureFresh(base)).toEqual({ kind: 'fresh', session: base, changed: false });
    expect(await down.ensureFresh({ ...base, accessTokenExpiresAt: NOW - 1 })).toMatchObject({
      kind: 'unavailable',
    });
  });
});
