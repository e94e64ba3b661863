import type http from 'node:http';
import type { Logger } from '../logger.ts';

/** Closing the store and flushing the exporters may take this long after the drain. */
const CLOSE_TIMEOUT_MS = 3_000;
/** How often, while draining, connections that went idle are closed. */
const DRAIN_POLL_MS = 50;

export interface GracefulShutdownOptions {
  readonly server: http.Server;
  readonly timeoutS: number;
  readonly logger: Logger;
  /** Called at once: `/readyz` turns 503 and answers carry `Connection: close`. */
  readonly begin: () => void;
  /** After the listener has drained (or was cut off): close the store, flush the exporters. */
  readonly close: () => Promise<void>;
  readonly exit?: (code: number) => void;
  /**
   * Long-lived connections (the `/api` WebSockets): closed with 1001 when the drain begins, waited
   * for like requests in flight, and cut with them at the deadline.
   */
  readonly webSockets?: {
    count(): number;
    closeAll(): void;
    terminateAll(): void;
  };
  /** The signals that start the shutdown (default SIGTERM and SIGINT; tests call `shutdown`). */
  readonly signals?: readonly NodeJS.Signals[];
}

/**
 * Counts requests in flight on `server`, and on SIGTERM/SIGINT drains it: readiness turns 503 at
 * once, the listener stops accepting, keep-alive connections close after their current answer
 * (idle ones at once), WebSockets are closed with 1001 (and new handshakes refused), and in-flight
 * requests, streamed bodies included, and sockets' close handshakes get `timeoutS` to finish.
 * Then the store and exporters are closed and the process exits 0, or 1 with a log line saying how
 * many requests had to be cut off.
 *
 * @see https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/ (SIGTERM, then SIGKILL)
 */
export function installGracefulShutdown(options: GracefulShutdownOptions): {
  inFlight: () => number;
  shutdown: (signal: string) => Promise<void>;
} {
  const { server, timeoutS, logger, begin, close, webSockets } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let inFlight = 0;
  let started = false;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
    });
  });

  const shutdown = async (signal: string) => {
    if (started) return;
    started = true;
    const sockets = () => webSockets?.count() ?? 0;
    logger.info(
      { signal, inFlight, webSockets: sockets(), timeoutS },
      'shutting down: draining in-flight requests',
    );
    begin();
    server.close();
    server.closeIdleConnections();
    // Upgraded sockets are no longer the HTTP server's: told to go away (1001) here, and then
    // waited for like requests (a close handshake takes a round trip).
    webSockets?.closeAll();
    const deadline = Date.now() + timeoutS * 1000;
    while ((inFlight > 0 || sockets() > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      server.closeIdleConnections();
    }
    const cut = inFlight + sockets();
    if (cut > 0) {
      logger.error(
        { cut, webSockets: sockets(), timeoutS },
        `shutdown: ${cut} request(s) or WebSocket(s) still open after ${timeoutS} s were cut off`,
      );
      webSockets?.terminateAll();
      server.closeAllConnections();
    }
    try {
      // Bounded too: a trace exporter that cannot flush must not hold the exit past the grace.
      await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
        'shutdown: closing failed',
      );
    }
    logger.info({ cut }, 'shut down');
    exit(cut > 0 ? 1 : 0);
  };
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT'])
    process.once(signal, () => void shutdown(signal));
  return { inFlight: () => inFlight, shutdown };
}
