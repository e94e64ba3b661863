/**
 * The dev IdP's own interaction pages, replacing oidc-provider's `devInteractions`: a login form,
 * a one-time-code page for step-up (`step-up.ts`), and an invisible consent step (Okta grants
 * first-party apps their scopes without asking).
 *
 * | the login prompt's situation | pages |
 * |---|---|
 * | no session, `prompt=login` / `max_age=0`, session older than `max_age`, another user hinted | password; then the code when `acr_values` needs two factors |
 * | a session with the password only, `acr_values` needing two factors (and nothing else amiss) | the code only |
 * | a session with the factors but another `acr` than requested | none: its `acr` is set to a requested value, its `auth_time` kept |
 *
 * The password step of an interaction is remembered in that interaction (server-side, for its
 * lifetime) until the code is entered; nothing the browser sends can skip it.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md#user-flows
 * @see https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md#interactionspolicy
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  errors,
  type InteractionResults,
  interactionPolicy,
  type KoaContextWithOIDC,
  type default as Provider,
} from 'oidc-provider';
import type { DevIdpEventRecorder } from './events.ts';
import { renderErrorPage, renderLoginPage, renderOtpPage } from './pages.ts';
import {
  AMR_PASSWORD,
  AMR_TWO_FACTOR,
  acrFor,
  DEV_OTP_CODE,
  factorsNeeded,
  factorsShown,
  missingForRequest,
  type OktaAcrValue,
  requestedAcrValues,
} from './step-up.ts';
import { authenticateDevUser, type DevUser, findDevUser } from './users.ts';

/** What the interaction handler needs. */
export interface InteractionContext {
  readonly provider: Provider;
  readonly users: readonly DevUser[];
  /** The issuer's path, prefixed to form actions so the browser stays under the mount. */
  readonly issuerPath: string;
  /** Accept `acr_values` but sign in with the password alone (see `DevIdpOptions.ignoreAcrValues`). */
  readonly ignoreAcrValues: boolean;
  readonly events: DevIdpEventRecorder;
}

const MAX_FORM_BYTES = 16 * 1024;
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|otp))?$/;

/** Where the interaction keeps a verified password while the code is awaited. */
const PASSWORD_STEP = 'devIdpPasswordStep';

type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The reason the login prompt names when the session does not meet the request's `acr_values`. */
export const ACR_VALUES_CHECK = 'acr_values_not_met';

/**
 * The interaction policy: oidc-provider's, plus a login check that an existing session meets the
 * request's `acr_values` (oidc-provider itself only checks `acr` when the `claims` parameter marks
 * it essential). Off with `ignoreAcrValues`, the IdP that accepts `acr_values` and ignores it.
 *
 * `max_age` needs nothing here: oidc-provider's `max_age` check asks for a new login when the
 * session is older, and it turns `max_age=0` into `prompt=login`.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md#interactionspolicy
 */
export function buildInteractionPolicy({ ignoreAcrValues }: { ignoreAcrValues: boolean }) {
  const policy = interactionPolicy.base();
  if (ignoreAcrValues) return policy;
  policy.get('login')?.checks.add(
    new interactionPolicy.Check(
      ACR_VALUES_CHECK,
      'The requested authentication context class was not met',
      (ctx: KoaContextWithOIDC) => {
        const { oidc } = ctx;
        // No session: the `no_session` check asks for the login. Just signed in: this login was
        // made for this request (asking again would loop).
        if (!oidc.session?.accountId || oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const requested = requestedAcrValues(oidc.params?.acr_values);
        return missingForRequest(oidc.session, requested) !== 'nothing';
      },
    ),
  );
  return policy;
}

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

/** The account whose password this interaction verified, when the code is still to come. */
function passwordStepAccount(details: InteractionDetails): string | undefined {
  const step = details.result?.[PASSWORD_STEP] as { accountId?: unknown } | undefined;
  return typeof step?.accountId === 'string' ? step.accountId : undefined;
}

/**
 * Whether the login prompt asks only because the session does not meet `acr_values`: then the
 * session's own password (and user) stand, and at most the second factor is needed.
 */
function onlyAcrNotMet(details: InteractionDetails): boolean {
  const { reasons } = details.prompt;
  return reasons.length === 1 && reasons[0] === ACR_VALUES_CHECK && details.session?.accountId !== undefined;
}

/**
 * Who the one-time code is for: the user whose password this interaction verified, or the
 * session's user when the session lacks only the second factor. `undefined`: the code page does
 * not apply (the password comes first).
 */
function secondFactorAccount(
  details: InteractionDetails,
  requested: readonly OktaAcrValue[],
): string | undefined {
  const verified = passwordStepAccount(details);
  if (verified) return verified;
  if (onlyAcrNotMet(details) && missingForRequest(details.session ?? {}, requested) === 'second_factor') {
    return details.session?.accountId;
  }
  return undefined;
}

/**
 * Handles `GET /interaction/:uid` (login form, code page, or silent consent),
 * `POST /interaction/:uid/login` (check the password) and `POST /interaction/:uid/otp` (check the
 * one-time code), then resumes the authorization request. Protocol errors (expired interaction,
 * missing cookie) render a plain error page.
 */
export async function handleInteraction(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  context: InteractionContext,
): Promise<void> {
  const { provider, users, issuerPath, ignoreAcrValues, events } = context;
  const [, uid, step] = INTERACTION_PATH.exec(path) ?? [];
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new errors.InvalidRequest('interaction mismatch');
    const loginAction = `${issuerPath}/interaction/${uid}/login`;
    const otpAction = `${issuerPath}/interaction/${uid}/otp`;
    // With `ignoreAcrValues` the request's values are accepted and then ignored: password only.
    const acrValues = typeof details.params.acr_values === 'string' ? details.params.acr_values : undefined;
    const requested = ignoreAcrValues ? [] : requestedAcrValues(acrValues);

    const finishLogin = async (
      accountId: string,
      login: { acr: string; amr: readonly string[]; ts?: number },
      factorsEntered: readonly string[],
    ) => {
      events.recordLogin({
        accountId,
        acr: login.acr,
        amr: login.amr,
        requestedAcrValues: acrValues,
        factorsEntered,
      });
      const result: InteractionResults = {
        login: { accountId, acr: login.acr, amr: [...login.amr], ts: login.ts },
      };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    };
    const otpPage = (accountId: string, error?: string) =>
      renderOtpPage({
        action: otpAction,
        login: findDevUser(users, accountId)?.login ?? accountId,
        devCode: DEV_OTP_CODE,
        error,
      });

    if (req.method === 'GET' && !step) {
      if (details.prompt.name === 'consent') return await finishConsent(req, res, provider, details);
      if (details.prompt.name !== 'login') throw new errors.InvalidRequest('unsupported prompt');
      const session = details.session;
      if (session && onlyAcrNotMet(details) && missingForRequest(session, requested) === 'label') {
        // The session has the factors already: name a requested value, keeping when they were shown.
        const stored = await provider.Session.find(session.cookie);
        if (stored?.accountId === session.accountId && stored.loginTs !== undefined) {
          const acr = acrFor(factorsShown(session.amr) === 2 ? 2 : 1, requested);
          return await finishLogin(
            session.accountId,
            { acr, amr: session.amr ?? [], ts: stored.loginTs },
            [],
          );
        }
      }
      const account = secondFactorAccount(details, requested);
      if (account) return sendHtml(res, 200, otpPage(account));
      return sendHtml(res, 200, renderLoginPage({ action: loginAction, users }));
    }

    if (req.method === 'POST' && step === 'login' && details.prompt.name === 'login') {
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      const user = authenticateDevUser(users, username, form.get('password') ?? '');
      if (!user) {
        const error = 'Unknown username or wrong password.';
        return sendHtml(res, 200, renderLoginPage({ action: loginAction, users, username, error }));
      }
      const accountId = user.claims.sub;
      if (factorsNeeded(requested) === 2) {
        // Remembered server-side; the code page (after a redirect, so a reload does not post
        // the password again) is the only way on.
        details.result = { ...details.result, [PASSWORD_STEP]: { accountId } };
        await details.persist();
        res.writeHead(303, { location: `${issuerPath}/interaction/${uid}`, 'content-length': '0' });
        return void res.end();
      }
      return await finishLogin(accountId, { acr: acrFor(1, requested), amr: AMR_PASSWORD }, ['pwd']);
    }

    if (req.method === 'POST' && step === 'otp' && details.prompt.name === 'login') {
      const accountId = secondFactorAccount(details, requested);
      if (!accountId) throw new errors.InvalidRequest('no sign-in is waiting for a one-time code');
      const form = await readForm(req);
      const code = (form.get('otp') ?? '').trim();
      if (code !== DEV_OTP_CODE) {
        return sendHtml(res, 200, otpPage(accountId, 'That code is not valid. Check it and try again.'));
      }
      const entered = passwordStepAccount(details) ? ['pwd', 'otp'] : ['otp'];
      return await finishLogin(accountId, { acr: acrFor(2, requested), amr: AMR_TWO_FACTOR }, entered);
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
