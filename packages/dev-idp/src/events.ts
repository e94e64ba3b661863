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

/** What the IdP saw since start (or since {@link DevIdpEvents.clear}). */
export interface DevIdpEvents {
  readonly tokenGrants: readonly TokenGrantRecord[];
  readonly tokenErrors: readonly TokenErrorRecord[];
  readonly revocations: readonly RevocationRecord[];
  readonly endSessions: readonly EndSessionRecord[];
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
}

/** Creates an empty recorder. */
export function createEventRecorder(): DevIdpEventRecorder {
  const tokenGrants: TokenGrantRecord[] = [];
  const tokenErrors: TokenErrorRecord[] = [];
  const revocations: RevocationRecord[] = [];
  const endSessions: EndSessionRecord[] = [];
  return {
    tokenGrants,
    tokenErrors,
    revocations,
    endSessions,
    grantCount: (grantType) => tokenGrants.filter((grant) => grant.grantType === grantType).length,
    get revokedRefreshTokenCount() {
      return revocations.filter((revocation) => revocation.tokenType === 'refresh_token').length;
    },
    clear() {
      tokenGrants.length = 0;
      tokenErrors.length = 0;
      revocations.length = 0;
      endSessions.length = 0;
    },
    recordTokenGrant: (record) => tokenGrants.push({ ...record, at: new Date() }),
    recordTokenError: (record) => tokenErrors.push({ ...record, at: new Date() }),
    recordRevocation: (record) => revocations.push({ ...record, at: new Date() }),
    recordEndSession: (record) => endSessions.push({ ...record, at: new Date() }),
  };
}
