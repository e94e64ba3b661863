/**
 * Starts the embedded development IdP: oidc-provider mounted under an Okta-style issuer path on
 * a node:http server, plus the few routes the IdP answers itself (login pages, userinfo).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_REDIRECT_URL, DEV_IDP } from '@okta-bff/oidc';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import Provider, { type Client, type ClientMetadata } from 'oidc-provider';
import { createEventRecorder, type DevIdpEventRecorder, type DevIdpEvents } from './events.ts';
import { createFrontchannelLogoutBridge } from './frontchannel-logout.ts';
import { handleInteraction, isInteractionPath } from './interactions.ts';
import { createLogoutTokenSigner, type SignLogoutToken } from './logout-token.ts';
import {
  createLogoutBridge,
  createOfflineAccessBridge,
  createRevocationObserver,
  isLogoutConfirmGet,
  rewriteLogoutConfirm,
} from './okta-compat.ts';
import { renderErrorPage } from './pages.ts';
import { buildProviderConfig, OKTA_ROUTES } from './provider-config.ts';
import { answerUserinfo } from './userinfo.ts';
import { DEV_USERS, type DevUser } from './users.ts';

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
}

/** A running dev IdP. */
export interface DevIdp {
  /** E.g. `http://localhost:9000/oauth2/default`. */
  readonly issuer: string;
  /** E.g. `http://localhost:9000`. */
  readonly origin: string;
  readonly port: number;
  readonly users: readonly DevUser[];
  /** What the IdP saw: token grants, revocations, logouts and logout notifications. */
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

/** URIs of the default dev client, overridable for `pnpm dev` with other ports. */
export interface DevClientUris {
  redirectUris?: readonly string[];
  postLogoutRedirectUris?: readonly string[];
  /**
   * Where the IdP POSTs logout tokens; by default the BFF's `/auth/backchannel-logout` on the
   * origin of the first redirect URI. `null` registers none.
   */
  backchannelLogoutUri?: string | null;
  /**
   * What the IdP's logout page loads in an iframe; by default the BFF's `/auth/frontchannel-logout`
   * on the origin of the first redirect URI. `null` registers none.
   */
  frontchannelLogoutUri?: string | null;
}

/** The BFF's routes for the two logout channels (DESIGN.md, "HTTP contract of the BFF"). */
const BACKCHANNEL_LOGOUT_PATH = '/auth/backchannel-logout';
const FRONTCHANNEL_LOGOUT_PATH = '/auth/frontchannel-logout';

/**
 * The default confidential web client, with the public dev credentials from `@okta-bff/oidc`.
 *
 * It registers both logout channels with `…_session_required`, so its ID tokens carry `sid` and
 * its logout notifications name the session. Okta itself sends no back-channel logout; an Okta
 * app gets front-channel notifications only when its admin turns on Single Logout with a
 * "Logout redirect URI" (Okta's name for `frontchannel_logout_uri`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRegistration
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#RPLogout
 */
export function createDevClient({
  redirectUris = [DEFAULT_REDIRECT_URL],
  postLogoutRedirectUris = [new URL('/', DEFAULT_REDIRECT_URL).href],
  backchannelLogoutUri = redirectUris[0] && new URL(BACKCHANNEL_LOGOUT_PATH, redirectUris[0]).href,
  frontchannelLogoutUri = redirectUris[0] && new URL(FRONTCHANNEL_LOGOUT_PATH, redirectUris[0]).href,
}: DevClientUris = {}): ClientMetadata {
  return {
    client_id: DEV_IDP.clientId,
    client_secret: DEV_IDP.clientSecret,
    client_name: 'okta-bff (dev)',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [...redirectUris],
    post_logout_redirect_uris: [...postLogoutRedirectUris],
    ...(backchannelLogoutUri
      ? { backchannel_logout_uri: backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
    ...(frontchannelLogoutUri
      ? { frontchannel_logout_uri: frontchannelLogoutUri, frontchannel_logout_session_required: true }
      : {}),
  };
}

/**
 * The dev client for apps served at `origins` (e.g. a BFF on a test port): each origin's
 * `/authorization-code/callback` as sign-in redirect and its `/` as sign-out redirect, the URIs
 * an Okta app following the tutorial registers, and the first origin's
 * `/auth/backchannel-logout` and `/auth/frontchannel-logout` as logout channels (a client has
 * one of each).
 */
export function createDevClientFor(...origins: readonly string[]): ClientMetadata {
  const callbackPath = new URL(DEFAULT_REDIRECT_URL).pathname;
  const [first] = origins;
  return createDevClient({
    redirectUris: origins.map((origin) => new URL(callbackPath, origin).href),
    postLogoutRedirectUris: origins.map((origin) => new URL('/', origin).href),
    backchannelLogoutUri: first === undefined ? null : new URL(BACKCHANNEL_LOGOUT_PATH, first).href,
    frontchannelLogoutUri: first === undefined ? null : new URL(FRONTCHANNEL_LOGOUT_PATH, first).href,
  });
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

  const server = createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES });
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
  observeBackchannelLogouts(provider, events);
  provider.on('grant.success', (ctx) => {
    const { params, client, entities, body } = { ...ctx.oidc, body: ctx.body };
    events.recordTokenGrant({
      grantType: String(params?.grant_type),
      clientId: client?.clientId ?? '',
      accountId: entities.Account?.accountId,
      grantId: entities.Grant?.jti,
      refreshTokenIssued: typeof body === 'object' && body !== null && 'refresh_token' in body,
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

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== issuerPath && !url.pathname.startsWith(`${issuerPath}/`)) {
      return sendPlain(res, 404, 'Not found', `The dev IdP serves only ${issuerPath}.`);
    }
    const path = url.pathname.slice(issuerPath.length) || '/';

    if (path === OKTA_ROUTES.userinfo) {
      const answer = await answerUserinfo(req.headers.authorization, { issuer, audience, publicKey, users });
      res.writeHead(answer.status, answer.headers);
      return void res.end(answer.body);
    }
    if (isInteractionPath(path)) {
      return handleInteraction(req, res, path, { provider, users, issuerPath });
    }

    // oidc-provider's mounting contract: it sees the path below the mount in `url`, and the
    // full one in `originalUrl` to build absolute URLs.
    const forwarded = isLogoutConfirmGet(req, path, OKTA_ROUTES.end_session)
      ? rewriteLogoutConfirm(req, url.searchParams.get('xsrf') ?? '', path)
      : req;
    const belowMount = forwarded === req ? `${path}${url.search}` : path;
    Object.assign(forwarded, { originalUrl: `${issuerPath}${belowMount}`, url: belowMount });
    await callback(forwarded, res);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      // A bug, not a protocol error: say so on the page and in the log, never crash the process.
      console.error(
        `dev-idp: unhandled error on ${req.method} ${new URL(req.url ?? '/', origin).pathname}`,
        error,
      );
      if (!res.headersSent) sendPlain(res, 500, 'Internal error', 'The dev IdP failed; see its log.');
      else res.destroy();
    });
  });

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
