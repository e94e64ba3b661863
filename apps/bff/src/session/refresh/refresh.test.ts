import { describe, expect, it } from 'vitest';
import type { Session } from '../model/session.ts';
import { afterFailedRefresh, planRefresh, REFRESH_MARGIN_S, withoutRefresh } from './refresh.ts';

const NOW = 1_000_000;
const session = (accessLeftS: number, refreshToken: string | undefined): Session => ({
  sid: 's',
  idpSid: undefined,
  user: { sub: 'u' },
  accessToken: 'at',
  accessTokenExpiresAt: NOW + accessLeftS,
  refreshToken,
  idToken: undefined,
  scope: undefined,
  createdAt: NOW - 60,
  lastSeenAt: NOW,
  expiresAt: NOW + 3600,
});

describe('the refresh decision table (both stores)', () => {
  it.each([
    ['more than the margin left, any refresh token', REFRESH_MARGIN_S + 1, 'rt', { kind: 'use' }],
    ['more than the margin left, no refresh token', REFRESH_MARGIN_S + 1, undefined, { kind: 'use' }],
    ['within the margin, a refresh token', REFRESH_MARGIN_S, 'rt', { kind: 'refresh', refreshToken: 'rt' }],
    ['expired, a refresh token', -5, 'rt', { kind: 'refresh', refreshToken: 'rt' }],
    ['within the margin and still valid, no refresh token', 10, undefined, { kind: 'use' }],
    ['expired, no refresh token', 0, undefined, { kind: 'end' }],
  ] as const)('%s → %o', (_, leftS, rt, plan) => {
    expect(planRefresh(session(leftS, rt), NOW)).toEqual(plan);
  });

  it('turns the plans that need no IdP call into answers', () => {
    const s = session(10, undefined);
    expect(withoutRefresh(s, { kind: 'use' })).toEqual({ kind: 'fresh', session: s, changed: false });
    expect(withoutRefresh(s, { kind: 'end' })).toEqual({ kind: 'ended', reason: 'no_refresh_token' });
  });

  it('a failed refresh: unreachable IdP keeps a still-valid session, else 503; refusals end it', () => {
    const cause = new Error('x');
    const valid = session(10, 'rt');
    const expired = session(0, 'rt');
    expect(afterFailedRefresh(valid, { ok: false, failure: 'unavailable', cause }, NOW)).toEqual({
      kind: 'fresh',
      session: valid,
      changed: false,
    });
    expect(
      afterFailedRefresh(expired, { ok: false, failure: 'unavailable', cause, retryAfterS: 7 }, NOW),
    ).toEqual({
      kind: 'unavailable',
      cause,
      retryAfterS: 7,
    });
    for (const failure of ['refused', 'invalid_response'] as const) {
      expect(afterFailedRefresh(valid, { ok: false, failure, cause }, NOW)).toEqual({
        kind: 'ended',
        reason: failure,
        cause,
      });
    }
  });
});
