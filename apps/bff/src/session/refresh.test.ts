import { describe, expect, it } from 'vitest';
import { RefreshError, type RefreshedTokens } from '../oidc/tokens.ts';
import { createInProcessRefresh } from './refresh.ts';
import type { Session } from './session.ts';

const NOW = 1_000_000;
const base: Session = {
  sid: 's1',
  user: { sub: 'u1' },
  accessToken: 'at-0',
  accessTokenExpiresAt: NOW + 30,
  refreshToken: 'rt-0',
  idToken: 'id-0',
  scope: 'openid',
  expiresAt: NOW + 3600,
};

function counter(result: (rt: string, n: number) => Promise<RefreshedTokens>) {
  const calls: string[] = [];
  return {
    calls,
    refresh: (rt: string) => {
      calls.push(rt);
      return result(rt, calls.length);
    },
  };
}

const rotated = (n: number): RefreshedTokens => ({
  accessToken: `at-${n}`,
  accessTokenExpiresAt: NOW + 3600,
  refreshToken: `rt-${n}`,
  idToken: undefined,
  scope: undefined,
});

describe('in-process refresh', () => {
  it('leaves a token with more than 60 s alone', async () => {
    const c = counter(async (_, n) => rotated(n));
    const r = createInProcessRefresh({ refresh: c.refresh, now: () => NOW });
    const out = await r.ensureFresh({ ...base, accessTokenExpiresAt: NOW + 61 });
    expect(out.changed).toBe(false);
    expect(c.calls).toEqual([]);
  });

  it('refreshes once for many concurrent callers and reuses the result for the old cookie', async () => {
    const c = counter(async (_, n) => {
      await new Promise((r) => setTimeout(r, 20));
      return rotated(n);
    });
    const r = createInProcessRefresh({ refresh: c.refresh, now: () => NOW });
    const results = await Promise.all(Array.from({ length: 20 }, () => r.ensureFresh(base)));
    expect(c.calls).toEqual(['rt-0']);
    for (const out of results)
      expect(out).toMatchObject({
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
    expect(late.session.refreshToken).toBe('rt-1');
    expect(c.calls).toHaveLength(1);
  });

  it('ends the session on a refused grant, and on an expired token without a refresh token', async () => {
    const refused = createInProcessRefresh({
      refresh: () => Promise.reject(new RefreshError('invalid_grant', 'no')),
      now: () => NOW,
    });
    await expect(refused.ensureFresh(base)).rejects.toMatchObject({ code: 'invalid_grant' });
    const none = createInProcessRefresh({
      refresh: () => Promise.reject(new Error('not called')),
      now: () => NOW,
    });
    await expect(
      none.ensureFresh({ ...base, refreshToken: undefined, accessTokenExpiresAt: NOW - 1 }),
    ).rejects.toMatchObject({ code: 'invalid_grant' });
    expect((await none.ensureFresh({ ...base, refreshToken: undefined })).changed).toBe(false);
  });

  it('keeps using a still-valid token while the IdP is down, and fails an expired one', async () => {
    const down = createInProcessRefresh({
      refresh: () => Promise.reject(new RefreshError('idp_unavailable', 'down')),
      now: () => NOW,
    });
    expect(await down.ensureFresh(base)).toEqual({ session: base, changed: false });
    await expect(down.ensureFresh({ ...base, accessTokenExpiresAt: NOW - 1 })).rejects.toMatchObject({
      code: 'idp_unavailable',
    });
  });
});
