/**
 * Child processes of the benchmark, and their own CPU and memory counters read from `/proc`
 * (a parent cannot call `process.cpuUsage()` in a child). Every server under test runs in its
 * own process so that its CPU time and RSS are its own, not the load generator's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`, 100 on Linux). */
const CLK_TCK = readClockTicks();
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
const STDERR_TAIL_CHARS = 4_000;

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch (error) {
    // getconf is missing only on stripped images; 100 is the Linux value on every architecture.
    console.warn(`bench: getconf CLK_TCK failed (${String(error)}); assuming 100`);
    return 100;
  }
}

/** A free TCP port on loopback (the kernel picks it; a race with another process is unlikely here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** User + system CPU time of `pid`, in milliseconds. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may hold spaces; everything after its closing parenthesis is space-separated,
  // starting at field 3 (state): utime is field 14 and stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** The `/proc/<pid>/stat` fields from field 3 (state) on; `undefined` once the process is gone. */
function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    // A descendant may exit between listing /proc and reading it; its time is then in its parent's.
    if (
      (error as NodeJS.ErrnoException).code === 'ENOENT' ||
      (error as NodeJS.ErrnoException).code === 'ESRCH'
    ) {
      return undefined;
    }
    throw error;
  }
  // Field 2 (comm) may hold spaces: everything after its closing parenthesis is space-separated.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Every live descendant of `pid` (children, grandchildren, …), from the ppid in `/proc/<n>/stat`. */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = children.get(queue.shift() ?? -1) ?? [];
    found.push(...next);
    queue = [...queue, ...next];
  }
  return found;
}

/**
 * CPU time of a process tree, in milliseconds: `pid`'s own (utime + stime) and that of the
 * children it has reaped (cutime + cstime, fields 16 and 17), plus every live descendant's own.
 * For a server that forks workers (httpd), so that a worker retired mid-run still counts.
 */
export function treeCpuTimeMs(pid: number): number {
  const ticks = (fields: string[] | undefined, from: number, to: number) =>
    (fields ?? []).slice(from, to).reduce((sum, field) => sum + Number(field), 0);
  const own = ticks(statFields(pid), 11, 15);
  const live = descendantPids(pid).reduce((sum, child) => sum + ticks(statFields(child), 11, 13), 0);
  return ((own + live) * 1000) / CLK_TCK;
}

/** VmRSS summed over `pid` and its live descendants, in bytes: pages they share count once each. */
export function treeRssBytes(pid: number): number {
  return [pid, ...descendantPids(pid)].reduce((sum, p) => {
    try {
      return sum + rssBytes(p);
    } catch (error) {
      // The process exited since it was listed: it holds no memory any more.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return sum;
      throw error;
    }
  }, 0);
}

/** Busy CPU time of the whole machine (all cores, `/proc/stat`), in milliseconds. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLK_TCK;
}

/** Resident set size of `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

export interface ChildOptions {
  /** Short name for messages. */
  readonly name: string;
  /** Arguments to `node` (flags, then the script). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Polled until it answers 200. */
  readonly readyUrl: string;
  readonly cwd?: string;
}

/** A running server process. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  /** `performance.now()` of this process when the child was spawned. */
  readonly startedAt: number;
  cpuMs(): number;
  rss(): number;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` with only `env` (plus PATH/HOME), stdout discarded (a production log
 * goes to a file or a collector, not to a pipe the benchmark would have to drain), and waits
 * until `readyUrl` answers 200.
 */
export async function startChild({ name, args, env, readyUrl, cwd }: ChildOptions): Promise<Child> {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`bench: could not start ${name}`);

  try {
    await waitReady(child, readyUrl);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`bench: ${name} did not become ready: ${String(error)}\n${stderr}`, { cause: error });
  }
  return {
    name,
    pid,
    startedAt,
    cpuMs: () => cpuTimeMs(pid),
    rss: () => rssBytes(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200; fails early if `child` exits. */
export async function waitReady(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      // Not listening yet: expected during start-up, retried until the deadline.
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}: ${last}`);
}

/** Samples `child`'s RSS every `intervalMs` until stopped; `max()` is the peak seen. */
export function sampleRss(child: Child, intervalMs = 200) {
  let max = child.rss();
  const timer = setInterval(() => {
    max = Math.max(max, child.rss());
  }, intervalMs);
  return {
    stop(): number {
      clearInterval(timer);
      max = Math.max(max, child.rss());
      return max;
    },
  };
}
