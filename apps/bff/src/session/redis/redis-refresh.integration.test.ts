/**
 * The Redis refresh coordinator against the embedded IdP (real HTTP, real validators) and a real
 * `redis-server` on a free loopback port: what happens to the tokens of a refresh that races a
 * logout on another instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOKE_TIMEOUT_MS } from '../../auth/actions.ts';
import { createRefreshTokenRedeemer } from '../../auth/redeem-refresh-token.ts';
import { discoverIdp, type IdpLoader, startIdpLoader } from '../../oidc/idp.ts';
import { redeemRefreshToken, revokeToken } from '../../oidc/tokens.ts';
import { NO_METRICS } from '../../ops/metrics.ts';
import { sessionCodecFor } from '../../services.ts';
import { type Gateway, startGateway } from '../../testing/gateway.ts';
import { type Bff, CookieJar, signIn, TEST_SESSION_SECRET } from '../../testing/harness.ts';
import { type RedisServer, startRedisServer } from '../../testing/redis-server.ts';
import type { Session } from '../model/session.ts';
import type { RefreshFunction, RevokeFunction } from '../refresh/refresh.ts';
import { COOKIE_PURPOSE } from '../store/cookies.ts';
import { connectRedis } from './redis-client.ts';
import { createRedisStore } from './redis-store.ts';

let g: Gateway;
let redis: RedisServer;
let bff: Bff;
let idp: IdpLoader;

beforeAll(async () => {
  [g, redis] = await Promise.all([startGateway(), startRedisServer()]);
  bff = await g.h.startBff({ SESSION_STORE: 'redis', REDIS_URL: redis.url });
  idp = startIdpLoader(() => discoverIdp(bff.config), { initialDelayMs: 50 });
  await idp.ready;
});
afterAll(async () => {
  idp?.stop();
  await g?.close();
  await redis?.close();
});

/** Another BFF instance's store on the same Redis, refreshing with `refresh` and revoking at the IdP. */
function instance(
  refresh: RefreshFunction = async () => ({ ok: false, failure: 'refused', cause: 'unused' }),
) {
  return createRedisStore({
    redis: connectRedis({ url: redis.url, cluster: false, onError: () => {} }),
    codec: sessionCodecFor([TEST_SESSION_SECRET], COOKIE_PURPOSE.redisRecord),
    names: { session: 'bff_session', txnPrefix: 'bff_txn.', secure: false },
    secrets: [TEST_SESSION_SECRET],
    idleTimeoutS: 7200,
    lockTtlMs: 5_000,
    refresh,
    revoke: revokeAtIdp,
  });
}

/** Revocation as the BFF does it: the IdP's revocation endpoint, bounded, best effort. */
const revokeAtIdp: RevokeFunction = async (session, refreshToken) => {
  const current = idp.current();
  if (!current) return;
  await revokeToken(current, refreshToken, 'refresh_token', REVOKE_TIMEOUT_MS, session.dpopKey).catch(() => {
    // Best effort: the assertions below look at what the IdP revoked, not at this.
  });
};

/** A browser signed in through the BFF, with its stored access token made to need a refresh. */
async function signedInNeedingRefresh(store: ReturnType<typeof instance>): Promise<Session> {
  const jar = new CookieJar();
  await signIn(bff, jar);
  const opened = await store.read({ bff_session: jar.get('bff_session') ?? '' });
  if (!opened) throw new Error('no session in Redis for this jar');
  const expired = { ...opened.session, accessTokenExpiresAt: Math.floor(Date.now() / 1000) - 10 };
  await store.write(expired, {});
  return expired;
}

describe('a Redis refresh whose session is ended while the IdP answers', () => {
  it('revokes the refresh token it just obtained, and the session ends', async () => {
    const refreshAtIdp = createRefreshTokenRedeemer({ idp, log: () => {}, metrics: NO_METRICS });
    const elsewhere = instance();
    const obtained: string[] = [];
    const racing = instance(async (session) => {
      const result = await refreshAtIdp(session);
      if (result.ok && result.tokens.refreshToken) obtained.push(result.tokens.refreshToken);
      // A logout on another instance, after the IdP rotated the token and before it is stored.
      await elsewhere.end(session, {});
      return result;
    });
    const session = await signedInNeedingRefresh(racing);
    g.h.idp.events.clear();

    expect(await racing.refresher.ensureFresh(session)).toMatchObject({ kind: 'ended' });
    expect(obtained).toHaveLength(1);
    expect(obtained[0]).not.toBe(session.refreshToken);
    expect(g.h.idp.events.revocations).toEqual([expect.objectContaining({ tokenType: 'refresh_token' })]);
    await expect(redeemRefreshToken(idp.current()!, obtained[0]!)).rejects.toThrow();
    await Promise.all([elsewhere.close(), racing.close()]);
  });

  it('revokes nothing when the session is still there to keep the new token', async () => {
    const store = instance(createRefreshTokenRedeemer({ idp, log: () => {}, metrics: NO_METRICS }));
    const session = await signedInNeedingRefresh(store);
    g.h.idp.events.clear();

    const outcome = await store.refresher.ensureFresh(session);
    expect(outcome).toMatchObject({ kind: 'fresh' });
    expect(g.h.idp.events.revocations).toEqual([]);
    expect(g.h.idp.events.tokenGrants.filter((t) => t.grantType === 'refresh_token')).toHaveLength(1);
    await store.close();
  });
});
