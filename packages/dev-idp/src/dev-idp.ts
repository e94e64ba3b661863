/**
 * Starts the embedded development IdP: oidc-provider mounted under an Okta-style issuer path on
 * a node:http server, plus the few routes the IdP answers itself (login pages, userinfo).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEV_IDP } from '@okta-bff/oidc';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import Provider, { type Client, type ClientMetadata } from 'oidc-provider';
import { CUSTOM_SCOPES, SCOPE_TOKEN } from './client-credentials.ts';
import {
  createClientSecurityObserver,
  DPOP_SIGNING_ALGS,
  observePushedAuthorizationRequests,
} from './client-security.ts';
import { createDevClient } from './dev-clients.ts';
import { createDpopProofVerifier, decodeDpopProof } from './dpop-proof.ts';
import { createEventRecorder, type DevIdpEventRecorder, type DevIdpEvents } from './events.ts';
import { createFrontchannelLogoutBridge } from './frontchannel-logout.ts';
import { handleInteraction, isInteractionPath } from './interactions.ts';
import { createLogoutTokenSigner, type SignLogoutToken } from './logout-token.ts';
import {
  createLogoutBridge,
  createOfflineAccessBridge,
  createRevocationObserver,
  isLogoutConfirmGet,
  isPushedAuthorizationPost,
  rewriteLogoutConfirm,
  rewritePushedAuthorizationRequest,
} from './okta-compat.ts';
import { renderErrorPage } from './pages.ts';
import { buildProviderConfig, OKTA_ROUTES } from './provider-config.ts';
import { answerUserinfo } from './userinfo.ts';
import { DEV_USERS, type DevUser, SUPPORTED_SCOPES } from './users.ts';

/** Options of {@link startDevIdp}; every one has a default. */
export interface DevIdpOptions {
  /** Port to listen on; 0 picks a free one (tests). */
  port?: number;
  /** Bind address. */
  host?: string;
  /** Host name used in the issuer URL (what clients and browsers type). */
  publicHost?: string;
  /** Path of the issuer, Okta's default custom authorization server by default. */
  issuerPath?: string;
  /** Registered clients, in oidc-provider's (= RFC 7591) metadata shape. */
  clients?: readonly ClientMetadata[];
  users?: readonly DevUser[];
  accessTokenTtlS?: number;
  idTokenTtlS?: number;
  refreshTokenTtlS?: number;
  /** `aud` of every access token. */
  audience?: string;
  /**
   * Demand a server-provided nonce in every DPoP proof at the token endpoint, as Okta does: the
   * first DPoP token request is answered `400 use_dpop_nonce` with a `DPoP-Nonce` header, and the
   * client retries with that nonce. Off by default (a proof without nonce is accepted).
   *
   * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
   */
  dpopNonce?: boolean;
  /**
   * The authorization server's custom scopes, the only ones a client may ask for with the
   * client-credentials grant (any other is refused `invalid_scope`, as Okta does).
   * Default {@link CUSTOM_SCOPES} (`items:stats`).
   */
  customScopes?: readonly string[];
  /**
   * Accept `acr_values` (still advertised, never refused) but sign every user in with the password
   * alone, `acr` `urn:okta:loa:1fa:pwd`, whatever was asked: an IdP that does not honour a step-up
   * request, so a client can prove it checks the `acr` it gets back. Off by default: a request
   * whose `acr_values` all need two factors gets the one-time-code page after the password (or on
   * top of a password-only IdP session), and `acr` names the requested value (`step-up.ts`).
   */
  ignoreAcrValues?: boolean;
}

/** A running dev IdP. */
export interface DevIdp {
  /** E.g. `http://localhost:9000/oauth2/default`. */
  readonly issuer: string;
  /** E.g. `http://localhost:9000`. */
  readonly origin: string;
  readonly port: number;
  readonly users: readonly DevUser[];
  /**
   * What the IdP saw: token grants, revocations, logouts and logout notifications, client
   * authentications and assertions, pushed authorization requests and DPoP proofs.
   */
  readonly events: DevIdpEvents;
  /**
   * Signs a Back-Channel Logout token with the key the IdP publishes at `/v1/keys`, for tests of
   * a client's back-channel endpoint: valid by default, broken on request.
   *
   * @example idp.signLogoutToken({ sid }) // valid for the first client
   * @example idp.signLogoutToken({ sid, nonce: 'n', jti: undefined }, { typ: 'JWT' }) // invalid
   */
  readonly signLogoutToken: SignLogoutToken;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

type ResolvedOptions = Readonly<Required<Omit<DevIdpOptions, 'clients'>>>;

const DEFAULT_OPTIONS: ResolvedOptions = Object.freeze({
  port: DEV_IDP.port,
  host: '127.0.0.1',
  publicHost: 'localhost',
  issuerPath: DEV_IDP.issuerPath,
  users: DEV_USERS,
  accessTokenTtlS: 3600,
  idTokenTtlS: 3600,
  refreshTokenTtlS: 30 * 24 * 3600,
  audience: DEV_IDP.audience,
  dpopNonce: false,
  customScopes: CUSTOM_SCOPES,
  ignoreAcrValues: false,
});

/** Programmer errors are thrown at start, all at once. */
function checkOptions(options: ResolvedOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) problems.push('port');
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(options.issuerPath)) problems.push('issuerPath (e.g. /oauth2/default)');
  for (const key of ['accessTokenTtlS', 'idTokenTtlS', 'refreshTokenTtlS'] as const) {
    if (!Number.isSafeInteger(options[key]) || options[key] <= 0) problems.push(key);
  }
  if (options.users.length === 0) problems.push('users');
  if (!options.customScopes.every((scope) => SCOPE_TOKEN.test(scope) && !SUPPORTED_SCOPES.includes(scope))) {
    problems.push('customScopes (scope tokens other than the OpenID Connect ones)');
  }
  if (problems.length) throw new TypeError(`startDevIdp: invalid option(s): ${problems.join(', ')}`);
}

async function generateSigningKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { signingJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' }, publicKey };
}

/**
 * Node's default limit on a request's head is 16 KiB, and a logout URL whose `id_token_hint`
 * carries the many-groups user's ID token is already about 12.5 KB before the IdP's cookies are
 * added; a few more groups and Node would answer 431 before oidc-provider saw the request.
 * Browsers send URLs far longer than that, so the IdP accepts such requests.
 */
const MAX_REQUEST_HEAD_BYTES = 64 * 1024;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function sendJsonError(res: ServerResponse, status: number, error: string, description: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error, error_description: description }));
}

function sendPlain(res: ServerResponse, status: number, title: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(renderErrorPage(title, { message }));
}

/**
 * Starts the dev IdP and resolves once it listens. Keys and cookie secrets are generated per
 * start; state (sessions, grants, tokens) lives in memory and dies with it.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md#mounting-oidc-provider
 */
export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const resolved: ResolvedOptions = { ...DEFAULT_OPTIONS, ...withoutUndefined(options) };
  checkOptions(resolved);
  const { issuerPath, users, audience } = resolved;
  const clients = options.clients ?? [createDevClient()];

  // It listens first (the issuer names the port it gets), and is ready a moment later: a request
  // that arrives in between is told to come back, as a starting server would, instead of
  // getting no answer at all.
  let ready: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => {
    if (ready) return ready(req, res);
    res.setHeader('retry-after', '1');
    sendJsonError(res, 503, 'temporarily_unavailable', 'The dev IdP is starting; try again in a moment.');
  });
  const port = await listen(server, resolved.port, resolved.host);
  const origin = `http://${resolved.publicHost}:${port}`;
  const issuer = `${origin}${issuerPath}`;
  const { signingJwk, publicKey } = await generateSigningKey();
  const events = createEventRecorder();

  const provider = new Provider(issuer, buildProviderConfig({ ...resolved, clients, signingJwk }));
  await checkClients(provider, clients).catch((error: unknown) => {
    server.close();
    throw error;
  });
  provider.use(createOfflineAccessBridge(OKTA_ROUTES.authorization));
  provider.use(createLogoutBridge(events));
  provider.use(createRevocationObserver(events));
  provider.use(createFrontchannelLogoutBridge(events));
  provider.use(createClientSecurityObserver(events));
  observeBackchannelLogouts(provider, events);
  observePushedAuthorizationRequests(provider, events);
  provider.on('grant.success', (ctx) => {
    // `client` is a getter of oidc-provider's context: read it there, not from a spread copy.
    const { params, client, entities } = ctx.oidc;
    const body = ctx.body as { refresh_token?: unknown; token_type?: unknown } | undefined;
    events.recordTokenGrant({
      grantType: String(params?.grant_type),
      clientId: client?.clientId ?? '',
      accountId: entities.Account?.accountId,
      grantId: entities.Grant?.jti,
      refreshTokenIssued: typeof body === 'object' && body !== null && 'refresh_token' in body,
      tokenType: String(body?.token_type),
    });
  });
  provider.on('grant.error', (ctx, error) => {
    const grantType = ctx.oidc?.params?.grant_type;
    events.recordTokenError({
      grantType: typeof grantType === 'string' ? grantType : undefined,
      error: error.error,
    });
  });
  provider.on('server_error', (_ctx, error) => {
    console.error(`dev-idp: server_error: ${error.message}`);
  });
  const callback = provider.callback();
  const userinfoOptions = {
    issuer,
    audience,
    publicKey,
    users,
    verifyDpopProof: createDpopProofVerifier({ algorithms: DPOP_SIGNING_ALGS }),
    dpopAlgorithms: DPOP_SIGNING_ALGS,
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== issuerPath && !url.pathname.startsWith(`${issuerPath}/`)) {
      return sendPlain(res, 404, 'Not found', `The dev IdP serves only ${issuerPath}.`);
    }
    const path = url.pathname.slice(issuerPath.length) || '/';

    if (path === OKTA_ROUTES.userinfo) {
      return answerUserinfoRequest(
        req,
        res,
        `http://${req.headers.host ?? new URL(origin).host}${issuerPath}${path}`,
      );
    }
    if (isInteractionPath(path)) {
      return handleInteraction(req, res, path, {
        provider,
        users,
        issuerPath,
        ignoreAcrValues: resolved.ignoreAcrValues,
        events,
      });
    }

    // oidc-provider's mounting contract: it sees the path below the mount in `url`, and the
    // full one in `originalUrl` to build absolute URLs.
    let forwarded = req;
    let belowMount = `${path}${url.search}`;
    if (isLogoutConfirmGet(req, path, OKTA_ROUTES.end_session)) {
      forwarded = rewriteLogoutConfirm(req, url.searchParams.get('xsrf') ?? '', path);
      belowMount = path;
    } else if (isPushedAuthorizationPost(req, path, OKTA_ROUTES.pushed_authorization_request)) {
      const pushed = await rewritePushedAuthorizationRequest(req, path);
      if (!pushed) return sendJsonError(res, 413, 'invalid_request', 'request body too large');
      forwarded = pushed;
    }
    Object.assign(forwarded, { originalUrl: `${issuerPath}${belowMount}`, url: belowMount });
    await callback(forwarded, res);
  }

  /** `/v1/userinfo` (see `userinfo.ts`), recording the DPoP proof it was sent, if any. */
  async function answerUserinfoRequest(req: IncomingMessage, res: ServerResponse, endpointUrl: string) {
    const dpop = typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined;
    const answer = await answerUserinfo(
      { authorization: req.headers.authorization, dpop, method: req.method ?? 'GET', url: endpointUrl },
      userinfoOptions,
    );
    if (dpop)
      events.recordDpopProof({ endpoint: 'userinfo', ...(await decodeDpopProof(dpop)), error: answer.error });
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  ready = (req, res) => {
    route(req, res).catch((error: unknown) => {
      // A bug, not a protocol error: say so on the page and in the log, never crash the process.
      console.error(
        `dev-idp: unhandled error on ${req.method} ${new URL(req.url ?? '/', origin).pathname}`,
        error,
      );
      if (!res.headersSent) sendPlain(res, 500, 'Internal error', 'The dev IdP failed; see its log.');
      else res.destroy();
    });
  };

  return {
    issuer,
    origin,
    port,
    users,
    events,
    signLogoutToken: createLogoutTokenSigner({
      issuer,
      clientId: String(clients[0]?.client_id ?? DEV_IDP.clientId),
      signingJwk,
    }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * oidc-provider validates a static client's metadata when it first looks it up, i.e. at the first
 * sign-in; looking them all up now turns a bad registration into an error at start.
 */
async function checkClients(provider: Provider, clients: readonly ClientMetadata[]): Promise<void> {
  for (const client of clients) {
    try {
      await provider.Client.find(String(client.client_id));
    } catch (error) {
      const detail = (error as { error_description?: string }).error_description ?? String(error);
      throw new TypeError(`startDevIdp: invalid client ${String(client.client_id)}: ${detail}`, {
        cause: error,
      });
    }
  }
}

/**
 * Records every back-channel logout oidc-provider sent, and its outcome. A client that fails
 * (refused, 404, down, slower than oidc-provider's 2.5 s) does not stop the logout.
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCResponse
 */
function observeBackchannelLogouts(provider: Provider, events: DevIdpEventRecorder): void {
  // oidc-provider puts `sid` in the logout token only when the client asked for it.
  const sidSent = (client: Client, sid: string) =>
    client.backchannelLogoutSessionRequired ? sid : undefined;
  provider.on('backchannel.success', (_ctx, client, accountId, sid) => {
    events.recordBackchannelLogout({
      clientId: client.clientId,
      sid: sidSent(client, sid),
      sub: accountId,
      ok: true,
      status: undefined,
      error: undefined,
    });
  });
  provider.on('backchannel.error', (_ctx, error, client, accountId, sid) => {
    const { response } = error as Error & { response?: Response };
    events.recordBackchannelLogout({
      clientId: client.clientId,
      sid: sidSent(client, sid),
      sub: accountId,
      ok: false,
      status: response?.status,
      error: error.message,
    });
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
