/**
 * The WebSocket scenario's load: many client sockets opened from this process (`ws`, no
 * compression, as a browser's would be without `permessage-deflate`), each sending a small text
 * message at a fixed interval and counting the echoes, and the CPU time and RSS of the server
 * that holds them (the BFF, or the ws upstream itself for a direct connection) read from `/proc`
 * around each phase.
 */
import WebSocket from 'ws';
import { type Child, sampleRss } from './processes.ts';

/** Where the sockets go, and with which handshake headers (socket `index` of `sockets`). */
export interface SocketTarget {
  readonly url: string;
  readonly headers: (index: number) => Readonly<Record<string, string>>;
}

export interface WebSocketLoadOptions {
  readonly sockets: number;
  /** Each socket sends one message every `intervalMs`, starting at a different moment. */
  readonly intervalMs: number;
  /** How long messages are sent; the echoes still on their way are then awaited. */
  readonly windowS: number;
  /** Handshakes in progress at once while opening. */
  readonly openConcurrency: number;
}

/** The process measured during a run, and, through the BFF, the upstream behind it. */
export interface WebSocketServers {
  readonly server: Child;
  readonly upstream?: Child;
}

/** One process's figures over a run. */
export interface ProcessFigures {
  /** RSS before the sockets were opened (after a warm-up), in bytes. */
  readonly rssBefore: number;
  /** RSS once all were open, before any message, after a 1 s settle. */
  readonly rssOpen: number;
  /** Highest RSS sampled during the message window. */
  readonly rssPeak: number;
  /** RSS at the end of the message window, every socket still open. */
  readonly rssAfter: number;
  /** CPU (user + system) spent while the sockets were opened, in ms. */
  readonly openCpuMs: number;
  /** CPU spent over the message window (and the drain of the last echoes), in ms. */
  readonly windowCpuMs: number;
}

export interface WebSocketRun {
  readonly sockets: number;
  readonly intervalMs: number;
  /** From the first handshake to the last socket open. */
  readonly openMs: number;
  /** From the first message to the last echo received. */
  readonly windowMs: number;
  /** Messages the clients sent, and echoes they received, in the window: equal in a valid run. */
  readonly sent: number;
  readonly received: number;
  readonly payloadBytes: number;
  readonly server: ProcessFigures;
  readonly upstream?: ProcessFigures;
  /** CPU of this process (the clients, and the embedded IdP, idle then) over the window, in ms. */
  readonly loadGenCpuMs: number;
}

/** The scheduler's tick: every tick, the sockets whose turn it is send. */
const TICK_MS = 10;
/** How long the last echoes may take after the window before the run is invalid. */
const DRAIN_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 10_000;
/** A small JSON text message, as an app's live updates are: about 64 bytes. */
const message = (seq: number) => JSON.stringify({ type: 'ping', seq, pad: 'x'.repeat(32) });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMsOfThisProcess = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/**
 * Opens one client socket; resolves once open. A refused handshake rejects with the status
 * and the body of the answer (the BFF's JSON error).
 */
export function openSocket(url: string, headers: Readonly<Record<string, string>>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { ...headers }, perMessageDeflate: false });
    socket.once('open', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => {
        // Reported by the run through 'close'.
      });
      resolve(socket);
    });
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.once('end', () => {
        // Rejected first: terminating a socket still connecting emits an 'error' of its own.
        reject(new Error(`${url}: handshake answered ${response.statusCode}: ${body.slice(0, 300)}`));
        socket.terminate();
      });
    });
  });
}

/** Opens `count` sockets, `concurrency` handshakes at a time; on any refusal closes them all and throws. */
async function openAll(target: SocketTarget, count: number, concurrency: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array(count);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < count && failed === undefined) {
      const index = next++;
      try {
        sockets[index] = await openSocket(target.url, target.headers(index));
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failed !== undefined) {
    await closeAll(sockets.filter(Boolean));
    throw failed;
  }
  return sockets;
}

/** Closes every socket (close handshake) and waits for all of them, at most {@link CLOSE_TIMEOUT_MS}. */
export async function closeAll(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.race([
    Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            socket.close(1000);
          }),
      ),
    ),
    sleep(CLOSE_TIMEOUT_MS),
  ]);
  for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
}

/**
 * Sends on every socket, each every `intervalMs` (a {@link TICK_MS} scheduler spreads the sockets
 * evenly over the interval), for `windowS`, then waits for the echoes still on their way. A timer
 * that fires late sends for every tick it missed, so the offered rate is the same whatever the
 * event loop's delays (direct and through the BFF alike). Any socket closing meanwhile, or an echo
 * missing, makes the run invalid (it throws).
 */
async function exchange(
  sockets: readonly WebSocket[],
  intervalMs: number,
  windowS: number,
): Promise<{ sent: number; received: number; windowMs: number }> {
  let sent = 0;
  let received = 0;
  const closed: string[] = [];
  const onMessage = () => {
    received++;
  };
  const onClose = (code: number, reason: Buffer) => {
    closed.push(`${code}${reason.length > 0 ? ` ${reason.toString('utf8')}` : ''}`);
  };
  for (const socket of sockets) {
    socket.on('message', onMessage);
    socket.on('close', onClose);
  }
  const slots = Math.max(1, Math.round(intervalMs / TICK_MS));
  const started = performance.now();
  const endAt = started + windowS * 1000;
  const ticks = Math.round((windowS * 1000) / TICK_MS);
  let tick = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(ticks, Math.floor((performance.now() - started) / TICK_MS) + 1);
      for (; tick < due && closed.length === 0; tick++) {
        for (let i = tick % slots; i < sockets.length; i += slots) {
          const socket = sockets[i]!;
          if (socket.readyState === WebSocket.OPEN) socket.send(message(sent++));
        }
      }
      if (tick >= ticks || closed.length > 0 || performance.now() >= endAt + 1_000) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  const drainUntil = performance.now() + DRAIN_TIMEOUT_MS;
  while (received < sent && performance.now() < drainUntil && closed.length === 0) await sleep(5);
  const windowMs = performance.now() - started;
  for (const socket of sockets) {
    socket.off('message', onMessage);
    socket.off('close', onClose);
  }
  if (closed.length > 0) {
    throw new Error(
      `${closed.length} socket(s) closed during the message window: ${closed.slice(0, 5).join('; ')}`,
    );
  }
  if (received !== sent) throw new Error(`${sent} messages sent, ${received} echoes received`);
  return { sent, received, windowMs };
}

/** A few sockets and a second of messages: JIT and first-use paths warm before "before" is read. */
export async function warmUpSockets(target: SocketTarget, sockets: number): Promise<void> {
  const open = await openAll(target, sockets, sockets);
  try {
    await exchange(open, 50, 1);
  } finally {
    await closeAll(open);
  }
}

/** The RSS and CPU figures of one process over the phases of a run. */
function watch(child: Child) {
  const rssBefore = child.rss();
  const cpuStart = child.cpuMs();
  let cpuOpen = 0;
  let rssOpen = 0;
  let cpuWindowStart = 0;
  let peak: ReturnType<typeof sampleRss> | undefined;
  return {
    opened() {
      cpuOpen = child.cpuMs() - cpuStart;
    },
    settled() {
      rssOpen = child.rss();
      cpuWindowStart = child.cpuMs();
      peak = sampleRss(child);
    },
    done(): ProcessFigures {
      const windowCpuMs = child.cpuMs() - cpuWindowStart;
      const rssAfter = child.rss();
      const rssPeak = peak?.stop() ?? rssAfter;
      return { rssBefore, rssOpen, rssPeak, rssAfter, openCpuMs: cpuOpen, windowCpuMs };
    },
  };
}

/**
 * One run: opens `sockets` sockets to `target`, lets them settle for a second, exchanges messages
 * for `windowS`, then closes them all. `servers.server` (and `servers.upstream`) are measured.
 */
export async function measureWebSockets(
  target: SocketTarget,
  servers: WebSocketServers,
  options: WebSocketLoadOptions,
): Promise<WebSocketRun> {
  const server = watch(servers.server);
  const upstream = servers.upstream ? watch(servers.upstream) : undefined;
  const openStart = performance.now();
  const sockets = await openAll(target, options.sockets, options.openConcurrency);
  const openMs = performance.now() - openStart;
  try {
    server.opened();
    upstream?.opened();
    await sleep(1_000);
    server.settled();
    upstream?.settled();
    const loadGenStart = cpuMsOfThisProcess();
    const { sent, received, windowMs } = await exchange(sockets, options.intervalMs, options.windowS);
    const loadGenCpuMs = cpuMsOfThisProcess() - loadGenStart;
    const serverFigures = server.done();
    const upstreamFigures = upstream?.done();
    return {
      sockets: sockets.length,
      intervalMs: options.intervalMs,
      openMs,
      windowMs,
      sent,
      received,
      payloadBytes: Buffer.byteLength(message(0)),
      server: serverFigures,
      ...(upstreamFigures ? { upstream: upstreamFigures } : {}),
      loadGenCpuMs,
    };
  } finally {
    await closeAll(sockets);
  }
}

/**
 * The first message on a fresh socket to `url`: the ws upstream's `/handshake` sends the headers
 * its handshake arrived with. The listener is there before the socket opens, so a message that
 * arrives with the 101 answer is not missed.
 */
export async function firstMessage(url: string, headers: Readonly<Record<string, string>>): Promise<string> {
  const socket = new WebSocket(url, { headers: { ...headers }, perMessageDeflate: false });
  socket.on('error', () => {
    // Rejected through the listener below; this one only keeps a late error from being thrown.
  });
  const first = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${url}: no message within 5 s`)), 5_000);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
    });
    socket.once('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      response.resume();
      reject(new Error(`${url}: handshake answered ${response.statusCode}`));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${url}: closed with ${code} before any message`));
    });
  });
  try {
    return await first;
  } finally {
    await closeAll([socket]);
  }
}
