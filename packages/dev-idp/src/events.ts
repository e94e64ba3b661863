/**
 * A record of what the dev IdP saw, so that tests of its clients can assert on the protocol
 * traffic ("exactly one refresh_token grant", "the refresh token was revoked at logout") without
 * reaching into oidc-provider. Records never hold token values.
 */

/** One successful token-endpoint request. */
export interface TokenGrantRecord {
  /** `authorization_code`, `refresh_token`, … as sent in `grant_type`. */
  readonly grantType: string;
  readonly clientId: string;
  /** The user's id (`sub`), when the grant has one. */
  readonly accountId: string | undefined;
  /** oidc-provider's grant id; the same for every token of one login, so it correlates records. */
  readonly grantId: string | undefined;
  /** Whether the response carried a `refresh_token` (a new one, on rotation). */
  readonly refreshTokenIssued: boolean;
  readonly at: Date;
}

/** One failed token-endpoint request. */
export interface TokenErrorRecord {
  readonly grantType: string | undefined;
  /** The OAuth error code returned, e.g. `invalid_grant`. */
  readonly error: string;
  readonly at: Date;
}

/** One token actually revoked at `/v1/revoke` (requests for unknown tokens are not recorded). */
export interface RevocationRecord {
  readonly tokenType: 'refresh_token' | 'access_token';
  readonly clientId: string;
  readonly grantId: string | undefined;
  readonly at: Date;
}

/** One accepted call to `/v1/logout` (RP-initiated logout). */
export interface EndSessionRecord {
  readonly clientId: string | undefined;
  /** Whether the browser had an IdP session that was ended (false: nothing to end, just redirected). */
  readonly hadSession: boolean;
  readonly postLogoutRedirectUri: string | undefined;
  readonly at: Date;
}

/**
 * One Back-Channel Logout notification the IdP sent (a `logout_token` POSTed to the client's
 * `backchannel_logout_uri` when an IdP session ended). The token itself is not kept.
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRequest
 */
export interface BackchannelLogoutRecord {
  readonly clientId: string;
  /** The `sid` claim sent (the one in that client's ID tokens); absent when the client did not ask for it. */
  readonly sid: string | undefined;
  /** The `sub` claim sent. */
  readonly sub: string | undefined;
  /** Whether the client answered 200 or 204. Failures do not stop the logout (best effort). */
  readonly ok: boolean;
  /** When not `ok`: the client's HTTP status, if it answered at all. */
  readonly status: number | undefined;
  /** When not `ok`: why (no token in it), e.g. `expected 200 OK from …, got: 404 Not Found`. */
  readonly error: string | undefined;
  readonly at: Date;
}

/**
 * One Front-Channel Logout notification the IdP rendered: an iframe of the client's
 * `frontchannel_logout_uri` in the page shown after logout. Whether the browser loaded it is up
 * to the browser; the IdP cannot know.
 *
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#OPLogout
 */
export interface FrontchannelLogoutRecord {
  readonly clientId: string;
  /** The `sid` in the iframe URL; absent when the client did not ask for `iss` and `sid`. */
  readonly sid: string | undefined;
  /** The iframe's `src`. */
  readonly url: string;
  readonly at: Date;
}

/** What the IdP saw since start (or since {@link DevIdpEvents.clear}). */
export interface DevIdpEvents {
  readonly tokenGrants: readonly TokenGrantRecord[];
  readonly tokenErrors: readonly TokenErrorRecord[];
  readonly revocations: readonly RevocationRecord[];
  readonly endSessions: readonly EndSessionRecord[];
  readonly backchannelLogouts: readonly BackchannelLogoutRecord[];
  readonly frontchannelLogouts: readonly FrontchannelLogoutRecord[];
  /** How many successful token requests used this `grant_type`. */
  grantCount(grantType: string): number;
  /** How many refresh tokens were revoked at `/v1/revoke`. */
  readonly revokedRefreshTokenCount: number;
  /** Forgets everything recorded so far (e.g. in `beforeEach`). */
  clear(): void;
}

/** The writable side, used by the IdP itself. */
export interface DevIdpEventRecorder extends DevIdpEvents {
  recordTokenGrant(record: Omit<TokenGrantRecord, 'at'>): void;
  recordTokenError(record: Omit<TokenErrorRecord, 'at'>): void;
  recordRevocation(record: Omit<RevocationRecord, 'at'>): void;
  recordEndSession(record: Omit<EndSessionRecord, 'at'>): void;
  recordBackchannelLogout(record: Omit<BackchannelLogoutRecord, 'at'>): void;
  recordFrontchannelLogout(record: Omit<FrontchannelLogoutRecord, 'at'>): void;
}

/** Creates an empty recorder. */
export function createEventRecorder(): DevIdpEventRecorder {
  const tokenGrants: TokenGrantRecord[] = [];
  const tokenErrors: TokenErrorRecord[] = [];
  const revocations: RevocationRecord[] = [];
  const endSessions: EndSessionRecord[] = [];
  const backchannelLogouts: BackchannelLogoutRecord[] = [];
  const frontchannelLogouts: FrontchannelLogoutRecord[] = [];
  return {
    tokenGrants,
    tokenErrors,
    revocations,
    endSessions,
    backchannelLogouts,
    frontchannelLogouts,
    grantCount: (grantType) => tokenGrants.filter((grant) => grant.grantType === grantType).length,
    get revokedRefreshTokenCount() {
      return revocations.filter((revocation) => revocation.tokenType === 'refresh_token').length;
    },
    clear() {
      tokenGrants.length = 0;
      tokenErrors.length = 0;
      revocations.length = 0;
      endSessions.length = 0;
      backchannelLogouts.length = 0;
      frontchannelLogouts.length = 0;
    },
    recordTokenGrant: (record) => tokenGrants.push({ ...record, at: new Date() }),
    recordTokenError: (record) => tokenErrors.push({ ...record, at: new Date() }),
    recordRevocation: (record) => revocations.push({ ...record, at: new Date() }),
    recordEndSession: (record) => endSessions.push({ ...record, at: new Date() }),
    recordBackchannelLogout: (record) => backchannelLogouts.push({ ...record, at: new Date() }),
    recordFrontchannelLogout: (record) => frontchannelLogouts.push({ ...record, at: new Date() }),
  };
}
