/**
 * Starts the embedded development IdP: oidc-provider mounted under an Okta-style issuer path on
 * a node:http server, plus the few routes the IdP answers itself (login pages, userinfo).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_REDIRECT_URL, DEV_IDP } from '@okta-bff/oidc';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';
import { createEventRecorder, type DevIdpEvents } from './events.ts';
import { handleInteraction, isInteractionPath } from './interactions.ts';
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
  /** What the IdP saw: token grants, revocations, logouts. */
  readonly events: DevIdpEvents;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** URIs of the default dev client, overridable for `pnpm dev` with other ports. */
export interface DevClientUris {
  redirectUris?: readonly string[];
  postLogoutRedirectUris?: readonly string[];
}

/**
 * The default confidential web client, with the public dev credentials from `@okta-bff/oidc`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function createDevClient({
  redirectUris = [DEFAULT_REDIRECT_URL],
  postLogoutRedirectUris = [new URL('/', DEFAULT_REDIRECT_URL).href],
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
  };
}

/**
 * The dev client for apps served at `origins` (e.g. a BFF on a test port): each origin's
 * `/authorization-code/callback` as sign-in redirect and its `/` as sign-out redirect, the URIs
 * an Okta app following the tutorial registers.
 */
export function createDevClientFor(...origins: readonly string[]): ClientMetadata {
  const callbackPath = new URL(DEFAULT_REDIRECT_URL).pathname;
  return createDevClient({
    redirectUris: origins.map((origin) => new URL(callbackPath, origin).href),
    postLogoutRedirectUris: origins.map((origin) => new URL('/', origin).href),
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
  provider.use(createOfflineAccessBridge(OKTA_ROUTES.authorization));
  provider.use(createLogoutBridge(events));
  provider.use(createRevocationObserver(events));
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
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
