/**
 * Real `redis-server` processes for integration tests (never mocks): a mock cannot show how the
 * client behaves when the server goes away, refuses a password or redirects a key to another
 * cluster node, and that is what a Redis session store must get right. Test-only.
 *
 * Each server gets a free loopback port and its own temp dir and persists nothing (`--save ''`,
 * no AOF). When the test process exits, every server still running is SIGKILLed and its temp dir
 * removed, so a crashed or forgetful test leaves nothing behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, without the password. */
  readonly url: string;
  /** `undefined` while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM (SIGKILL after 3 s), then waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /** Starts again on the same port (for "Redis down, then back" tests); resolves once it answers. */
  start(): Promise<void>;
  /** Stops the server and removes its temp dir. */
  close(): Promise<void>;
}

export interface RedisCluster {
  /** Three masters, each owning a third of the slots. */
  readonly nodes: readonly RedisServer[];
  /** A seed node's URL, for `createCluster({ rootNodes: [{ url }] })`. */
  readonly url: string;
  close(): Promise<void>;
}

const findBinary = (name: string): string | undefined =>
  ['/usr/bin', ...(process.env.PATH ?? '').split(path.delimiter)]
    .map((dir) => path.join(dir, name))
    .find((file) => path.isAbsolute(file) && existsSync(file));

/** Whether `redis-server` is installed, so suites can `describe.skipIf(!redisAvailable())`. */
export function redisAvailable(): boolean {
  return findBinary('redis-server') !== undefined;
}

interface Live {
  readonly children: Set<ChildProcess>;
  readonly dirs: Set<string>;
}
/** Shared through `globalThis`, so a module loaded once per test file still adds one exit hook. */
const shared = globalThis as { __bffRedisServers?: Live };
const live = shared.__bffRedisServers ?? createLive();

function createLive(): Live {
  const created: Live = { children: new Set(), dirs: new Set() };
  shared.__bffRedisServers = created;
  // `exit` listeners must be synchronous: `kill` and `rmSync` are.
  process.once('exit', () => {
    for (const child of created.children) child.kill('SIGKILL');
    for (const dir of created.dirs) rmSync(dir, { recursive: true, force: true });
  });
  return created;
}

/** A free port now; someone may take it before redis binds it, which `launch` retries. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `text` starts with one whole RESP reply: a line, or a `$<length>` bulk string. */
function replyComplete(text: string): boolean {
  const eol = text.indexOf('\r\n');
  if (eol < 0 || !text.startsWith('$')) return eol >= 0;
  const length = Number(text.slice(1, eol));
  return length < 0 || text.length >= eol + 2 + length + 2;
}

/** Sends `commands` one by one on a fresh raw connection (no client library); resolves with the replies. */
function ask(port: number, ...commands: string[][]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const replies: string[] = [];
    let buffer = '';
    const socket = net.connect({ port, host: '127.0.0.1' });
    const next = (): void => {
      const command = commands[replies.length];
      if (command) {
        const args = command.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('');
        socket.write(`*${command.length}\r\n${args}`);
      } else {
        socket.destroy();
        resolve(replies);
      }
    };
    socket.setEncoding('utf8');
    socket.setTimeout(1000, () => socket.destroy(new Error(`no reply from port ${port}`)));
    socket.once('connect', next).once('error', reject);
    socket.once('close', () => reject(new Error(`port ${port} hung up`))); // no-op once resolved
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (!replyComplete(buffer)) return;
      replies.push(buffer);
      buffer = '';
      next();
    });
  });
}

/** Runs `check` every 25 ms until it returns true; throws whatever `fatal` reports, or on timeout. */
async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>, fatal = () => '') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (fatal()) throw new Error(`${what}: ${fatal()}`);
    // A refused or cut connection only means "not up yet": poll again.
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Spawns redis-server; `exitReason` stays empty while it runs, then says why it exited, with its last output. */
function spawnRedis(args: string[]) {
  const child = spawn(findBinary('redis-server') ?? 'redis-server', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.children.add(child);
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000); // the tail is enough for an error message
    });
  }
  const proc = { child, exitReason: '', exited: Promise.resolve() };
  proc.exited = new Promise<void>((resolve) => {
    const done = (reason: string): void => {
      proc.exitReason ||= reason;
      live.children.delete(child);
      resolve();
    };
    child.once('exit', (code, signal) => done(`exited (${signal ?? code}): ${output}`));
    child.once('error', (error) => done(`failed to spawn: ${error.message}`));
  });
  return proc;
}
type Proc = ReturnType<typeof spawnRedis>;

async function kill(proc: Proc): Promise<void> {
  if (proc.exitReason) return;
  proc.child.kill('SIGTERM');
  const escalate = setTimeout(() => proc.child.kill('SIGKILL'), 3000);
  await proc.exited;
  clearTimeout(escalate);
}

async function launch(password?: string, extraArgs = (_port: number, _dir: string): string[] => []) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bff-redis-'));
  live.dirs.add(dir);
  let port = 0;
  let running: Proc | undefined;

  /** Starts redis on `fixedPort` or a free one; retries (5 times) if the port turns out to be taken. */
  async function boot(fixedPort?: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const candidate = fixedPort ?? (await freePort());
      const proc = spawnRedis([
        ...['--port', String(candidate), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...['--daemonize', 'no', '--dir', dir, '--protected-mode', 'yes'],
        ...(password === undefined ? [] : ['--requirepass', password]),
        ...extraArgs(candidate, dir),
      ]);
      const answers = async (): Promise<boolean> => {
        const [pong = ''] = await ask(candidate, ['PING']);
        if (!pong.startsWith('+PONG') && !(password !== undefined && pong.startsWith('-NOAUTH')))
          return false;
        // Make sure *our* redis answers, not another test's that won the race for the port.
        const auth = password === undefined ? [] : [['AUTH', password]];
        const replies = await ask(candidate, ...auth, ['INFO', 'server']);
        return replies.at(-1)?.includes(`process_id:${proc.child.pid}\r\n`) ?? false;
      };
      try {
        await poll(`redis-server on port ${candidate}`, 10_000, answers, () => proc.exitReason);
        [port, running] = [candidate, proc];
        return;
      } catch (error) {
        await kill(proc);
        if (attempt >= 5 || !proc.exitReason.includes('Address already in use')) throw error;
        if (fixedPort !== undefined) await sleep(100);
      }
    }
  }

  // One operation at a time, so concurrent start() calls cannot race for the port.
  let queue = Promise.resolve();
  const serially = (op: () => Promise<void>): Promise<void> => (queue = queue.then(op, op));
  const stop = async (): Promise<void> => {
    const proc = running;
    running = undefined;
    if (proc) await kill(proc);
  };
  const close = async (): Promise<void> => {
    await stop();
    await rm(dir, { recursive: true, force: true });
    live.dirs.delete(dir);
  };

  await boot().catch(async (error: unknown) => {
    await close();
    throw error;
  });
  const server: RedisServer = {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get pid() {
      return running?.child.pid;
    },
    stop: () => serially(stop),
    start: () => serially(async () => (running ? undefined : boot(port))),
    close: () => serially(close),
  };
  return server;
}

/** Starts a standalone server; with `password`, unauthenticated commands get `-NOAUTH`. */
export function startRedisServer(options: { password?: string } = {}): Promise<RedisServer> {
  return launch(options.password);
}

/** Starts three masters, joins them with `redis-cli --cluster create`, waits for `cluster_state:ok`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.close()));
  };
  const clusterArgs = (port: number, dir: string): string[] => [
    ...['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'],
    ...['--cluster-config-file', path.join(dir, `nodes-${port}.conf`)],
  ];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await launch(undefined, clusterArgs));
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    const args = ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'];
    await promisify(execFile)(findBinary('redis-cli') ?? 'redis-cli', args, { timeout: 20_000 });
    const allOk = async (): Promise<boolean> => {
      const infos = await Promise.all(nodes.map((node) => ask(node.port, ['CLUSTER', 'INFO'])));
      return infos.every(([info]) => info?.includes('cluster_state:ok'));
    };
    await poll('cluster_state:ok on every node', 20_000, allOk);
  } catch (error) {
    await close();
    throw error;
  }
  return { nodes, url: nodes[0]!.url, close };
}
