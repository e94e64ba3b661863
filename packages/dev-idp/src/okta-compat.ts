/**
 * Koa middleware and a request rewrite that bridge oidc-provider's behaviour to Okta's where
 * clients can tell the difference, plus the observation of revocations and logouts for tests.
 *
 * RP-initiated logout: oidc-provider asks the user to confirm with a form posted to
 * `/v1/logout/confirm`; Okta, given a valid `id_token_hint`, ends the session and redirects at
 * once. The bridge turns the confirmation page into a 303 to `GET /v1/logout/confirm?xsrf=…`,
 * which {@link rewriteLogoutConfirm} turns back into the form post oidc-provider expects, so a
 * browser and a plain HTTP client following redirects both end the session without a click.
 *
 * Refresh tokens: Okta issues one whenever `offline_access` is granted; oidc-provider drops that
 * scope unless the request also says `prompt=consent`, so the offline-access bridge adds it, to
 * browser requests ({@link createOfflineAccessBridge}) and to pushed ones
 * ({@link rewritePushedAuthorizationRequest}).
 *
 * @see https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS/#tag/CustomAS/operation/logoutCustomAS
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 */
import { IncomingMessage } from 'node:http';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { DevIdpEventRecorder } from './events.ts';

type Next = () => Promise<unknown>;

/** The end-session confirmation path below the issuer, where oidc-provider mounts it. */
const CONFIRM_SUFFIX = '/confirm';

/**
 * The `prompt` that keeps `offline_access` in an authorization request with this `scope` and
 * `prompt`, or undefined when nothing needs to change (no `offline_access`, already `consent`,
 * `prompt=none`, or a repeated parameter that oidc-provider refuses anyway).
 */
export function promptKeepingOfflineAccess(scope: unknown, prompt: unknown): string | undefined {
  if (typeof scope !== 'string' || !scope.split(' ').includes('offline_access')) return undefined;
  if (prompt !== undefined && typeof prompt !== 'string') return undefined;
  const prompts = (prompt ?? '').split(' ').filter(Boolean);
  if (prompts.includes('none') || prompts.includes('consent')) return undefined;
  return [...prompts, 'consent'].join(' ');
}

/**
 * Pre-middleware keeping `offline_access` in authorization requests without `prompt=consent`.
 * OIDC Core §11 lets a provider drop it then, and oidc-provider does; Okta instead issues a
 * refresh token to any client allowed the `refresh_token` grant. Adding `consent` to `prompt`
 * keeps the scope; the consent step it causes is completed silently by the interaction handler.
 * `prompt=none` cannot be combined with `consent`, so there `offline_access` is still dropped.
 *
 * Only query-string (GET) authorization requests are rewritten: that is what browsers send.
 * Pushed ones are rewritten by {@link rewritePushedAuthorizationRequest}.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess
 */
export function createOfflineAccessBridge(authorizationPath: string) {
  return async function keepOfflineAccess(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    if (ctx.method === 'GET' && ctx.path === authorizationPath) {
      const prompt = promptKeepingOfflineAccess(ctx.query.scope, ctx.query.prompt);
      if (prompt !== undefined) {
        // oidc-provider finds its mount path by locating `ctx.url` in `originalUrl`: keep them in step.
        const req = ctx.req as IncomingMessage & { originalUrl?: string };
        const mountPath = req.originalUrl?.slice(0, req.originalUrl.indexOf(ctx.url)) ?? '';
        ctx.query = { ...ctx.query, prompt };
        req.originalUrl = `${mountPath}${ctx.url}`;
      }
    }
    await next();
  };
}

/** A PAR body the IdP buffers; above oidc-provider's own 56 KiB limit, so that it is the one refusing. */
const MAX_PAR_BODY_BYTES = 64 * 1024;

/** Whether this request is a push to the PAR endpoint. `path` is the path below the issuer. */
export function isPushedAuthorizationPost(req: IncomingMessage, path: string, parRoute: string): boolean {
  return req.method === 'POST' && path === parRoute;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The offline-access bridge for pushed authorization requests (RFC 9126): at `/v1/par`
 * oidc-provider drops `offline_access` without `prompt=consent` as it does at `/v1/authorize`,
 * and the browser later brings only the `request_uri`, so the pushed form itself gets the
 * `consent` prompt. Okta issues the refresh token either way.
 *
 * Reads the body, so it returns the request to hand to oidc-provider instead (the same headers,
 * socket and body, rewritten or not); undefined when the body is larger than the IdP accepts.
 * A pushed signed request object (`request=`) is passed on unchanged.
 */
export async function rewritePushedAuthorizationRequest(
  req: IncomingMessage,
  path: string,
): Promise<IncomingMessage | undefined> {
  const body = await readBody(req, MAX_PAR_BODY_BYTES);
  if (!body) return undefined;
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    return messageWithBody(req, path, body, contentType);
  }
  const params = new URLSearchParams(body.toString('utf8'));
  const scopes = params.getAll('scope');
  const prompts = params.getAll('prompt');
  const prompt =
    scopes.length === 1 && prompts.length <= 1 && promptKeepingOfflineAccess(scopes[0], prompts[0]);
  if (!prompt) return messageWithBody(req, path, body, contentType);
  params.set('prompt', prompt);
  return messageWithBody(req, path, Buffer.from(params.toString()), contentType);
}

/**
 * A `POST` with `body` in place of `req`: its headers (cookies, DPoP, authorization) and socket,
 * and a body oidc-provider reads as if it came from the network.
 */
function messageWithBody(
  req: IncomingMessage,
  path: string,
  body: Buffer,
  contentType: string,
): IncomingMessage {
  const post = new IncomingMessage(req.socket);
  post.method = 'POST';
  post.url = path;
  post.httpVersion = req.httpVersion;
  const { 'transfer-encoding': _chunked, ...headers } = req.headers;
  post.headers = { ...headers, 'content-type': contentType, 'content-length': String(body.length) };
  post.push(body);
  post.push(null);
  // Otherwise node treats the message as aborted when it is destroyed, and kills the socket.
  post.complete = true;
  return post;
}

/**
 * Post-middleware: after `/v1/logout` validated `id_token_hint` and `post_logout_redirect_uri`
 * and stored them in the session, redirect instead of rendering a confirmation page.
 *
 * > [!WARNING]
 * > The xsrf secret travels in the redirect URL; it only protects the confirm step, which Okta
 * > does not have at all. Acceptable in a dev-only IdP.
 */
export function createLogoutBridge(events: DevIdpEventRecorder) {
  return async function oktaLikeLogout(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    await next();
    if (ctx.oidc?.route !== 'end_session' || ctx.status !== 200) return;
    const session = ctx.oidc.session;
    const state = session?.state as
      | { secret?: string; state?: string; postLogoutRedirectUri?: string; clientId?: string }
      | undefined;
    if (!session || !state?.secret) return;

    const hadSession = Boolean(session.accountId);
    events.recordEndSession({
      clientId: state.clientId,
      hadSession,
      postLogoutRedirectUri: state.postLogoutRedirectUri,
    });

    ctx.status = 303;
    if (hadSession) {
      const confirm = new URL(ctx.oidc.urlFor('end_session_confirm'));
      confirm.searchParams.set('xsrf', state.secret);
      ctx.redirect(confirm.href);
    } else if (state.postLogoutRedirectUri) {
      // Nothing to end (no cookie, e.g. a client without a jar): go straight back, like Okta.
      const target = new URL(state.postLogoutRedirectUri);
      if (state.state !== undefined) target.searchParams.set('state', state.state);
      ctx.redirect(target.href);
    } else {
      ctx.redirect(ctx.oidc.urlFor('end_session_success'));
    }
  };
}

/**
 * Post-middleware: records refresh and access tokens actually revoked at `/v1/revoke`
 * (RFC 7009 answers 200 for unknown tokens too, so the status alone says nothing).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 */
export function createRevocationObserver(events: DevIdpEventRecorder) {
  return async function observeRevocation(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    await next();
    if (ctx.oidc?.route !== 'revocation' || ctx.status !== 200) return;
    const { RefreshToken: refreshToken, AccessToken: accessToken, Client: client } = ctx.oidc.entities;
    const token = refreshToken ?? accessToken;
    if (!token || !client) return;
    // The revocation policy may have refused (another client's token): check it is really gone.
    const value = String(ctx.oidc.params?.token);
    const { RefreshToken, AccessToken } = ctx.oidc.provider;
    const stillThere = await (refreshToken ? RefreshToken.find(value) : AccessToken.find(value));
    if (stillThere) return;
    events.recordRevocation({
      tokenType: refreshToken ? 'refresh_token' : 'access_token',
      clientId: client.clientId,
      grantId: token.grantId,
    });
  };
}

/**
 * Whether this request is the bridge's `GET …/v1/logout/confirm?xsrf=…` hop.
 * `path` is the path below the issuer.
 */
export function isLogoutConfirmGet(req: IncomingMessage, path: string, endSessionRoute: string): boolean {
  return req.method === 'GET' && path === `${endSessionRoute}${CONFIRM_SUFFIX}`;
}

/**
 * Turns the bridge's GET hop into the `POST …/confirm` (`xsrf`, `logout=yes`) oidc-provider
 * handles, keeping the original headers (the session cookie) and socket.
 */
export function rewriteLogoutConfirm(req: IncomingMessage, xsrf: string, path: string): IncomingMessage {
  const body = Buffer.from(new URLSearchParams({ xsrf, logout: 'yes' }).toString());
  return messageWithBody(req, path, body, 'application/x-www-form-urlencoded');
}
