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
  /** The response's `token_type`: `Bearer`, or `DPoP` when the access token is sender-constrained. */
  readonly tokenType: string;
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

/**
 * The endpoints where a client authenticates (or, for `userinfo`, presents a DPoP proof), by
 * Okta's names: `par` is `/v1/par`.
 */
export type DevIdpEndpoint = 'token' | 'revocation' | 'introspection' | 'par' | 'userinfo';

/**
 * How a client authenticated at a token, revocation, introspection or PAR request, as presented
 * (whether it succeeded is `error`). `client_secret_basic` and `client_secret_post` mean a
 * secret was sent; `private_key_jwt` and `client_secret_jwt` mean a `client_assertion` was.
 */
export interface ClientAuthenticationRecord {
  readonly endpoint: DevIdpEndpoint;
  /** The client id named by the request (Basic user, `client_id`, or the assertion's `sub`). */
  readonly clientId: string | undefined;
  readonly method:
    | 'client_secret_basic'
    | 'client_secret_post'
    | 'client_secret_jwt'
    | 'private_key_jwt'
    | 'none';
  /** The OAuth error the endpoint answered, e.g. `invalid_client`; undefined when it succeeded. */
  readonly error: string | undefined;
  readonly at: Date;
}

/**
 * One `client_assertion` (RFC 7523 §2.2) received, decoded but not trusted: it is recorded before
 * (and whether or not) the IdP accepted it. The assertion itself is not kept.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export interface ClientAssertionRecord {
  readonly endpoint: DevIdpEndpoint;
  /** Claims as sent; undefined when absent or not a string. */
  readonly iss: string | undefined;
  readonly sub: string | undefined;
  /** As sent: a string, or an array when the client sent one (Okta and the dev IdP refuse arrays). */
  readonly aud: string | readonly string[] | undefined;
  readonly jti: string | undefined;
  readonly exp: number | undefined;
  readonly alg: string | undefined;
  readonly kid: string | undefined;
  /** The URL of the endpoint called: the only `aud` Okta and the dev IdP accept. */
  readonly endpointUrl: string;
  /** The OAuth error the endpoint answered, e.g. `invalid_client`; undefined when it succeeded. */
  readonly error: string | undefined;
  readonly at: Date;
}

/** One accepted pushed authorization request (RFC 9126) at `/v1/par`. The `request_uri` is not kept. */
export interface PushedAuthorizationRequestRecord {
  readonly clientId: string;
  /** The DPoP key thumbprint the request was bound to (`dpop_jkt` or the proof's key), if any. */
  readonly dpopJkt: string | undefined;
  readonly at: Date;
}

/**
 * One DPoP proof (RFC 9449 §4) received at the token endpoint, `/v1/par` or `/v1/userinfo`,
 * decoded but not trusted; recorded whether or not it was accepted. The proof is not kept.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export interface DpopProofRecord {
  readonly endpoint: DevIdpEndpoint;
  /** RFC 7638 thumbprint of the proof's `jwk` header; undefined when the proof could not be decoded. */
  readonly jkt: string | undefined;
  readonly htm: string | undefined;
  readonly htu: string | undefined;
  /** Whether the proof carried a server-provided `nonce`. */
  readonly hadNonce: boolean;
  /** Whether it carried `ath` (the access token's hash, sent to resource servers such as userinfo). */
  readonly hadAth: boolean;
  /** The error answered, e.g. `use_dpop_nonce`; undefined when the request succeeded. */
  readonly error: string | undefined;
  readonly at: Date;
}

/**
 * One sign-in completed at the IdP's own pages: the login result handed to oidc-provider, which
 * becomes the session's (and the next ID token's) `acr`, `amr` and, unless only relabelled,
 * `auth_time`.
 */
export interface LoginRecord {
  readonly accountId: string;
  readonly acr: string;
  readonly amr: readonly string[];
  /** The authorization request's `acr_values`, as sent; undefined when it had none. */
  readonly requestedAcrValues: string | undefined;
  /**
   * What the user entered in this interaction: `["pwd"]`, `["pwd","otp"]`, `["otp"]` (second
   * factor on top of the session's password), or `[]` (the session already had the factors and
   * only its `acr` was set to a requested value; `auth_time` stays).
   */
  readonly factorsEntered: readonly string[];
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
  readonly clientAuthentications: readonly ClientAuthenticationRecord[];
  readonly clientAssertions: readonly ClientAssertionRecord[];
  readonly pushedAuthorizationRequests: readonly PushedAuthorizationRequestRecord[];
  readonly dpopProofs: readonly DpopProofRecord[];
  /** Sign-ins completed at the login and one-time-code pages (see {@link LoginRecord}). */
  readonly logins: readonly LoginRecord[];
  /**
   * How many requests sent a client secret (HTTP Basic or `client_secret` in the form), by
   * `clientId` when given: 0 proves a `private_key_jwt` client never sent one.
   */
  clientSecretsPresented(clientId?: string): number;
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
  recordClientAuthentication(record: Omit<ClientAuthenticationRecord, 'at'>): void;
  recordClientAssertion(record: Omit<ClientAssertionRecord, 'at'>): void;
  recordPushedAuthorizationRequest(record: Omit<PushedAuthorizationRequestRecord, 'at'>): void;
  recordDpopProof(record: Omit<DpopProofRecord, 'at'>): void;
  recordLogin(record: Omit<LoginRecord, 'at'>): void;
}

const SECRET_METHODS: ReadonlySet<ClientAuthenticationRecord['method']> = new Set([
  'client_secret_basic',
  'client_secret_post',
]);

/** Creates an empty recorder. */
export function createEventRecorder(): DevIdpEventRecorder {
  // Every list, once: `clear()` empties them all, whatever is added here later.
  const records = {
    tokenGrants: [] as TokenGrantRecord[],
    tokenErrors: [] as TokenErrorRecord[],
    revocations: [] as RevocationRecord[],
    endSessions: [] as EndSessionRecord[],
    backchannelLogouts: [] as BackchannelLogoutRecord[],
    frontchannelLogouts: [] as FrontchannelLogoutRecord[],
    clientAuthentications: [] as ClientAuthenticationRecord[],
    clientAssertions: [] as ClientAssertionRecord[],
    pushedAuthorizationRequests: [] as PushedAuthorizationRequestRecord[],
    dpopProofs: [] as DpopProofRecord[],
    logins: [] as LoginRecord[],
  };
  return {
    ...records,
    clientSecretsPresented: (clientId) =>
      records.clientAuthentications.filter(
        (record) =>
          SECRET_METHODS.has(record.method) && (clientId === undefined || record.clientId === clientId),
      ).length,
    grantCount: (grantType) => records.tokenGrants.filter((grant) => grant.grantType === grantType).length,
    get revokedRefreshTokenCount() {
      return records.revocations.filter((revocation) => revocation.tokenType === 'refresh_token').length;
    },
    clear() {
      for (const list of Object.values(records)) list.length = 0;
    },
    recordTokenGrant: (record) => records.tokenGrants.push({ ...record, at: new Date() }),
    recordTokenError: (record) => records.tokenErrors.push({ ...record, at: new Date() }),
    recordRevocation: (record) => records.revocations.push({ ...record, at: new Date() }),
    recordEndSession: (record) => records.endSessions.push({ ...record, at: new Date() }),
    recordBackchannelLogout: (record) => records.backchannelLogouts.push({ ...record, at: new Date() }),
    recordFrontchannelLogout: (record) => records.frontchannelLogouts.push({ ...record, at: new Date() }),
    recordClientAuthentication: (record) => records.clientAuthentications.push({ ...record, at: new Date() }),
    recordClientAssertion: (record) => records.clientAssertions.push({ ...record, at: new Date() }),
    recordPushedAuthorizationRequest: (record) =>
      records.pushedAuthorizationRequests.push({ ...record, at: new Date() }),
    recordDpopProof: (record) => records.dpopProofs.push({ ...record, at: new Date() }),
    recordLogin: (record) => records.logins.push({ ...record, at: new Date() }),
  };
}
