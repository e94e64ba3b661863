/**
 * The dev IdP's own interaction pages, replacing oidc-provider's `devInteractions`: a login form
 * and an invisible consent step (Okta grants first-party apps their scopes without asking).
 *
 * @see https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md#user-flows
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors, type InteractionResults, type default as Provider } from 'oidc-provider';
import { renderErrorPage, renderLoginPage } from './pages.ts';
import { authenticateDevUser, type DevUser } from './users.ts';

/** What the interaction handler needs. */
export interface InteractionContext {
  readonly provider: Provider;
  readonly users: readonly DevUser[];
  /** The issuer's path, prefixed to form actions so the browser stays under the mount. */
  readonly issuerPath: string;
}

const MAX_FORM_BYTES = 16 * 1024;
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/;

/** Whether a path (already stripped of the issuer path) belongs to the interaction pages. */
export function isInteractionPath(path: string): boolean {
  return INTERACTION_PATH.test(path);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new errors.InvalidRequest('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Completes the consent prompt by granting what oidc-provider reports missing. */
async function finishConsent(
  req: IncomingMessage,
  res: ServerResponse,
  provider: Provider,
  details: Awaited<ReturnType<Provider['interactionDetails']>>,
): Promise<void> {
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (!accountId || typeof clientId !== 'string') throw new errors.InvalidRequest('no session to consent in');
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const result: InteractionResults = { consent: { grantId: await grant.save() } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

/**
 * Handles `GET /interaction/:uid` (login form, or silent consent) and
 * `POST /interaction/:uid/login` (check the password, then resume the authorization request).
 * Protocol errors (expired interaction, missing cookie) render a plain error page.
 */
export async function handleInteraction(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  { provider, users, issuerPath }: InteractionContext,
): Promise<void> {
  const [, uid, login] = INTERACTION_PATH.exec(path) ?? [];
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new errors.InvalidRequest('interaction mismatch');
    const action = `${issuerPath}/interaction/${uid}/login`;

    if (req.method === 'GET' && !login) {
      if (details.prompt.name === 'consent') return await finishConsent(req, res, provider, details);
      if (details.prompt.name !== 'login') throw new errors.InvalidRequest('unsupported prompt');
      return sendHtml(res, 200, renderLoginPage({ action, users }));
    }

    if (req.method === 'POST' && login && details.prompt.name === 'login') {
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      const user = authenticateDevUser(users, username, form.get('password') ?? '');
      if (!user) {
        const error = 'Unknown username or wrong password.';
        return sendHtml(res, 200, renderLoginPage({ action, users, username, error }));
      }
      const result: InteractionResults = { login: { accountId: user.claims.sub } };
      return await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    }

    throw new errors.InvalidRequest('unexpected interaction request');
  } catch (error) {
    // oidc-provider's own errors are user-facing (e.g. the interaction expired); others are bugs.
    if (!(error instanceof errors.OIDCProviderError)) throw error;
    sendHtml(
      res,
      error.statusCode,
      renderErrorPage('Sign-in error', { error: error.error, error_description: error.error_description }),
    );
  }
}
