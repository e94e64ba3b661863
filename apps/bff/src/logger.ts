import { type Logger, pino } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, whoever passes them. */
const REDACTED_FIELDS = [
  'authorization',
  'cookie',
  'cookies',
  '["set-cookie"]',
  'access_token',
  'refresh_token',
  'id_token',
  'code_verifier',
  'client_secret',
  'client_assertion',
  'logout_token',
  'accessToken',
  'refreshToken',
  'idToken',
  'codeVerifier',
  'clientSecret',
  'sessionSecrets',
  'nonce',
  'password',
  'handle',
];

/**
 * The BFF's structured JSON logger. Redaction is a second line of defence: the first is that no
 * code passes a token, code, verifier, nonce, cookie value or the client secret to the logger.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bff' },
      redact: {
        // Wire names and this code's own names for every secret, at the top level and one level down.
        paths: REDACTED_FIELDS.flatMap((field) => [
          field,
          field.startsWith('[') ? `*${field}` : `*.${field}`,
        ]),
        censor: '[redacted]',
      },
      serializers: { cause: describeError, err: describeError },
    },
    destination,
  );
}

const accessLoggers = new WeakMap<Logger, Logger>();

/**
 * The logger for the one line per request: same stream, level and base fields as `logger`, but no
 * redaction pass. Only for lines whose every field is chosen by our code (method, path without
 * query, status, duration, request id): never pass it anything that came from a token or a body.
 */
export function accessLogger(logger: Logger): Logger {
  let access = accessLoggers.get(logger);
  if (!access) {
    const stream = (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
    access = pino({ level: logger.level, base: { service: 'bff' } }, stream);
    accessLoggers.set(logger, access);
  }
  return access;
}

/**
 * The `log(event, details)` of the sign-in steps: one `info` line named after the event, with any
 * `cause` reduced by {@link describeError}.
 */
export function eventLogger(logger: Logger): (event: string, details: Record<string, unknown>) => void {
  return (event, { cause, ...details }) =>
    logger.info({ event, ...details, cause: describeError(cause) }, event);
}

/**
 * A log-safe description of an error chain: names, messages and codes only. Error objects of the
 * OAuth and JOSE libraries can carry token claims or response bodies in their properties, so
 * nothing else is copied.
 */
export function describeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) {
    // Already described (the serializer runs on values callers passed through this function).
    if (typeof error === 'object' && error !== null) return error;
    return error === undefined ? undefined : String(error).slice(0, 200);
  }
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  const { code, status, error: oauthError } = error as { code?: unknown; status?: unknown; error?: unknown };
  if (typeof code === 'string') out.code = code;
  if (typeof status === 'number') out.status = status;
  if (typeof oauthError === 'string') out.error = oauthError;
  if (error.cause instanceof Error && depth < 3) out.cause = describeError(error.cause, depth + 1);
  return out;
}
