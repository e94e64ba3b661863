/**
 * The WebSocket proxy's test bed: a real `ws` upstream on a loopback port that records every
 * handshake, and BFF instances as real `http.Server`s (`createBffServer`, so the `'upgrade'` path
 * is the product's), each on its own port with the harness's configuration: the embedded IdP's
 * client is registered for the harness's origin, which is every instance's public origin, and
 * cookies are not scoped by port, so one jar signs in to any instance. Test-only.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BffConfig, type Env, loadBffConfig } from '@okta-bff/oidc';
import WebSocket, { WebSocketServer } from 'ws';
import { type BffServer, createBffServer } from '../http-server.ts';
import { discoverIdp, type IdpLoader, startIdpLoader } from '../oidc/idp.ts';
import { type Metrics, NO_METRICS } from '../ops/metrics.ts';
import { installGracefulShutdown } from '../ops/shutdown.ts';
import { TRACING_OFF, type Tracing } from '../ops/tracing.ts';
import {
  type Bff,
  type CookieJar,
  capturingLogger,
  type Harness,
  jarFetch,
  testEnv,
} from '../testing/harness.ts';

export interface RecordedHandshake {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** How the upstream answers the next handshakes. */
export interface UpstreamBehaviour {
  /** Answer with this status instead of upgrading (and these headers); `once`: the next handshake only. */
  readonly refuse?: { status: number; headers?: Record<string, string>; once?: boolean };
  /** Never answer. */
  readonly hang?: boolean;
  /** The subprotocol picked among those offered (default: the first). */
  readonly pick?: (offered: Set<string>) => string | false;
}

export interface WsUpstream {
  /** `http://127.0.0.1:<port>`, the base of the routes' `upstream`. */
  readonly origin: string;
  readonly handshakes: RecordedHandshake[];
  /** The upstream's side of every socket it accepted. */
  readonly sockets: WebSocket[];
  behave(behaviour: UpstreamBehaviour): void;
  close(): Promise<void>;
}

/**
 * Echoes every message as it came (text as text, binary as binary). A text message `close:<code>`
 * makes it close with that code (reason `bye`); `terminate` makes it drop the connection.
 */
export async function startWsUpstream(): Promise<WsUpstream> {
  const handshakes: RecordedHandshake[] = [];
  const sockets: WebSocket[] = [];
  let behaviour: UpstreamBehaviour = {};
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (behaviour.pick ? behaviour.pick(offered) : ([...offered][0] ?? false)),
  });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const raw = new Set<import('node:stream').Duplex>();
  server.on('upgrade', (req, socket, head) => {
    handshakes.push({ url: req.url ?? '', headers: req.headers });
    raw.add(socket);
    socket.on('close', () => raw.delete(socket));
    if (behaviour.hang) return;
    if (behaviour.refuse) {
      const { status, headers = {}, once } = behaviour.refuse;
      if (once) behaviour = {};
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${lines.join('')}content-length: 0\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? '' : data.toString();
        if (text.startsWith('close:')) ws.close(Number(text.slice(6)), 'bye');
        else if (text === 'terminate') ws.terminate();
        else ws.send(data, { binary: isBinary });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handshakes,
    sockets,
    behave(next) {
      behaviour = next;
    },
    async close() {
      for (const socket of raw) socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What a browser's handshake came to: an open socket, or the HTTP answer that refused it. */
export type Dialled =
  | { readonly ws: WebSocket; readonly headers: IncomingHttpHeaders }
  | { readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: string };

export interface DialOptions {
  readonly jar?: CookieJar;
  /** `Origin`; the app's public origin unless given, `null` for none. */
  readonly origin?: string | null;
  readonly protocols?: readonly string[];
  readonly headers?: Record<string, string>;
}

export interface WsBff extends Bff {
  readonly server: BffServer;
  /** Opens a WebSocket to `path` on this instance, as a browser of the app would. */
  dial(path: string, options?: DialOptions): Promise<Dialled>;
  /** SIGTERM, as `run-bff.ts` installs it (no process signal, no exit): resolves with the exit code. */
  shutdown(timeoutS?: number): Promise<number>;
}

export interface BffEnvironment {
  /** The harness's IdP and origin. */
  readonly h: Harness;
  readonly env?: Env;
  readonly metrics?: Metrics;
  readonly tracing?: Tracing;
}

/** A BFF (`createBffServer`) on a port of its own, configured like the harness's. */
export async function startWsBff({
  h,
  env = {},
  metrics = NO_METRICS,
  tracing = TRACING_OFF,
}: BffEnvironment): Promise<WsBff> {
  // `createBffServer` itself (not the harness's listener), for its shutdown and WebSocket proxy.
  const config: BffConfig = loadBffConfig(testEnv(h.idp.issuer, h.origin, env), 'production');
  const { logs, logger } = capturingLogger(config.logLevel);
  const idp: IdpLoader = startIdpLoader(() => discoverIdp(config), { initialDelayMs: 0 });
  await idp.ready;
  let shuttingDown = false;
  const server = createBffServer({
    config,
    idp,
    logger,
    ops: { metrics, tracing },
    shuttingDown: () => shuttingDown,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://localhost:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    idp.stop();
    server.webSockets.terminateAll();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await server.closeSessions();
  };
  return {
    origin,
    config,
    logs,
    server,
    fetch: jarFetch(origin),
    dial: (path, options = {}) => dial(`ws://localhost:${port}${path}`, config.publicOrigin, options),
    shutdown(timeoutS = 5) {
      return new Promise<number>((resolve) => {
        const { shutdown } = installGracefulShutdown({
          server,
          timeoutS,
          logger,
          signals: [],
          begin: () => {
            shuttingDown = true;
            idp.stop();
          },
          close: () => server.closeSessions(),
          webSockets: server.webSockets,
          exit: (code) => {
            stopped = true;
            resolve(code);
          },
        });
        void shutdown('SIGTERM');
      });
    },
    stop,
  };
}

function dial(url: string, appOrigin: string, options: DialOptions): Promise<Dialled> {
  const { jar, origin = appOrigin, protocols = [], headers = {} } = options;
  const cookie = jar?.header(url.replace(/^ws/, 'http'));
  const ws = new WebSocket(url, [...protocols], {
    headers: { ...(cookie ? { cookie } : {}), ...(origin === null ? {} : { origin }), ...headers },
  });
  return new Promise((resolve, reject) => {
    ws.on('upgrade', (res) => {
      ws.once('open', () => resolve({ ws, headers: res.headers }));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.on('error', (error) => {
      if (ws.readyState === WebSocket.CONNECTING) reject(error);
    });
  });
}

/** The open socket of `dialled`, or a failed expectation naming the answer it got instead. */
export function opened(dialled: Dialled): WebSocket {
  if ('ws' in dialled) return dialled.ws;
  throw new Error(`the handshake was refused: ${dialled.status} ${dialled.body}`);
}

/** The status and `{ error }` of a refused handshake. */
export function refusal(dialled: Dialled): { status: number; error: unknown } {
  if ('ws' in dialled) {
    dialled.ws.terminate();
    throw new Error('the handshake was accepted');
  }
  return { status: dialled.status, error: (JSON.parse(dialled.body) as { error: unknown }).error };
}

/** The next message on `ws`, with its kind. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
  );
}

/** How `ws` closes: code, reason and how long after this call. */
export function closeOf(ws: WebSocket): Promise<{ code: number; reason: string; ms: number }> {
  const start = performance.now();
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'));
  return new Promise((resolve) =>
    ws.once('close', (code, reason) =>
      resolve({ code, reason: reason.toString(), ms: performance.now() - start }),
    ),
  );
}

/** Metrics that record the open-socket gauge's calls (the rest does nothing). */
export function recordingMetrics(): Metrics & { readonly sockets: [string, 1 | -1][] } {
  const sockets: [string, 1 | -1][] = [];
  return {
    ...NO_METRICS,
    sockets,
    countOpenSockets(route, delta) {
      sockets.push([route, delta]);
    },
  };
}

/** `API_ROUTES` for the bed: `/api/live` (WebSocket, user token), `/api/open` (WebSocket, no token), `/api/plain` (no WebSocket). */
export function wsRoutes(upstreamOrigin: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify([
    { name: 'live', prefix: '/api/live', upstream: `${upstreamOrigin}/live`, websocket: true, ...extra },
    { name: 'open', prefix: '/api/open', upstream: `${upstreamOrigin}/open`, websocket: true, token: 'none' },
    { name: 'plain', prefix: '/api/plain', upstream: `${upstreamOrigin}/plain` },
  ]);
}

/** Polls `condition` every 20 ms for up to `ms`. */
export async function eventually(condition: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
