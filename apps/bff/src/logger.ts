import { writeSync } from 'node:fs';
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

/** Standard output gathers lines up to about this many characters before one write… */
const STDOUT_BATCH_CHARS = 4_096;
/** …and writes what it has at least this often, so a quiet server's lines still show promptly. */
const STDOUT_FLUSH_MS = 500;
/** How long a write waits before it tries again when the reader of a full pipe is behind. */
const FULL_PIPE_WAIT_MS = 10;

/**
 * Lines gathered in memory and written to a file descriptor in one synchronous write per batch.
 * At load that is one `write(2)` per ~20 request lines, on the event loop's own thread: no
 * thread-pool hop, and nothing to copy per line (SonicBoom measures its whole pending buffer
 * again at every line, which flattens it: kilobytes of garbage per request, bench/FINDINGS.md).
 *
 * A full non-blocking pipe is waited for, as pino's synchronous destination does: a log line is
 * not dropped because the collector is slow. Any other failure (the reader is gone, the disk is
 * full) drops that batch and says so once on standard error: the gateway keeps serving.
 */
export class LineBatcher implements pino.DestinationStream {
  #lines: string[] = [];
  #chars = 0;
  #failureReported = false;
  readonly #fd: number;
  readonly #batchChars: number;

  constructor(fd: number, batchChars: number) {
    this.#fd = fd;
    this.#batchChars = batchChars;
  }

  write(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= this.#batchChars) this.flush();
  }

  /** Writes what is gathered, synchronously; `done` is for pino's `logger.flush(cb)`. */
  flush(done?: (error?: Error) => void): void {
    if (this.#lines.length > 0) {
      const bytes = Buffer.from(this.#lines.join(''));
      this.#lines = [];
      this.#chars = 0;
      this.#writeAll(bytes);
    }
    done?.();
  }

  #writeAll(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.#fd, bytes, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FULL_PIPE_WAIT_MS);
          continue;
        }
        if (!this.#failureReported) {
          this.#failureReported = true;
          process.stderr.write(
            `Log lines could not be written to fd ${this.#fd} (${code}); such batches are dropped.\n`,
          );
        }
        return;
      }
    }
  }
}

/**
 * The production log destination: standard output in batches ({@link LineBatcher}), written at
 * least every 500 ms and, whatever is left, when the process exits (by `process.exit`, the end of
 * the event loop, or an uncaught exception), so a crash or a shutdown loses no line.
 */
export function stdoutDestination(): LineBatcher {
  const lines = new LineBatcher(1, STDOUT_BATCH_CHARS);
  setInterval(() => lines.flush(), STDOUT_FLUSH_MS).unref();
  process.on('exit', () => lines.flush());
  return lines;
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
export function eventLogger(logger: Logger): EventLog {
  return (event, { cause, ...details }, level = 'info') =>
    logger[level]({ event, ...details, cause: describeError(cause) }, event);
}

/** One event line: its name, details (a `cause` is described, never dumped), and a level. */
export type EventLog = (event: string, details: Record<string, unknown>, level?: 'info' | 'warn') => void;

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
