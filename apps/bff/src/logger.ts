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

/** Standard output gathers lines up to this many bytes before one write… */
const STDOUT_BUFFER_BYTES = 4_096;
/** …and writes what it has at least this often, so a quiet server's lines still show promptly. */
const STDOUT_FLUSH_MS = 500;

/**
 * The production log destination: standard output, written asynchronously in batches (one
 * write per ~25 request lines at load, instead of one per line through libuv's thread pool,
 * bench/FINDINGS.md). What is still buffered is written synchronously when the process exits,
 * however it exits (pino's exit handler), so a crash or a shutdown loses no line.
 */
export function stdoutDestination(): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: STDOUT_BUFFER_BYTES });
  setInterval(() => {
    try {
      stream.flush();
    } catch {
      // Ended at exit: nothing is left to write.
    }
  }, STDOUT_FLUSH_MS).unref();
  return stream;
}

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

/**
 * A writer of `info` lines whose fields the caller has already serialised (`,"key":value…`), on
 * `logger`'s stream and with its own `level`, `time` and base fields, as pino would write them;
 * `undefined` when `info` is off. Only for fields chosen by our code: nothing goes through the
 * redaction pass.
 */
export function infoLineWriter(logger: Logger): ((fields: string, msg: string) => void) | undefined {
  if (!logger.isLevelEnabled('info')) return undefined;
  const internals = logger as unknown as Record<symbol, unknown>;
  const { symbols } = pino;
  const stream = internals[symbols.streamSym] as pino.DestinationStream;
  const level = (internals[symbols.lsCacheSym] as Record<number, string>)[
    logger.levels.values.info as number
  ];
  const time = internals[symbols.timeSym] as () => string;
  const bindings = internals[symbols.chindingsSym] as string;
  const msgKey = JSON.stringify(internals[symbols.messageKeySym]);
  return (fields, msg) =>
    stream.write(`${level}${time()}${bindings}${fields},${msgKey}:${JSON.stringify(msg)}}\n`);
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
