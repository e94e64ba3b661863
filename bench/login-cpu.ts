/**
 * CPU per login of the BFF's production build: a full sign-in (`login.ts`: `/auth/login`, the
 * dev IdP's form, the callback) repeated, and the BFF process's own CPU time read from `/proc`
 * (every thread, from `schedstat`; the embedded IdP runs in this process and is not counted).
 * Other builds of the BFF and Apache + mod_auth_openidc can run beside it, interleaved round by
 * round with a rotating order, so that all see the same machine state; each round's figure is
 * also given as a ratio to the first target's in the same round, which this shared 2-core
 * machine's load moves far less than the figures themselves.
 *
 *   pnpm tsx bench/login-cpu.ts                    # build the working tree, 50 warm-up + 300 logins, 4 at a time
 *   pnpm tsx bench/login-cpu.ts --apache           # … and Apache + mod_auth_openidc beside it
 *   pnpm tsx bench/login-cpu.ts --keep before      # also keep this build as `before`
 *   pnpm tsx bench/login-cpu.ts --with before      # … later: measure `before` beside the new build
 *   pnpm tsx bench/login-cpu.ts --fresh --rounds 16 --logins 640 --warmup 2 --concurrency 1 --apache
 *                                                  # as `pnpm bench`'s login row: 40 logins of a process
 *                                                  # that signed in twice, one at a time
 *
 * Options:
 * - `--logins N` (300, split over the rounds), `--warmup N` (50), `--rounds N` (6),
 *   `--concurrency N` (4 users signing in at once; `pnpm bench` signs in one at a time),
 *   `--log-level L` (`warn`, as `pnpm bench`'s login row; `info` is the production default);
 * - `--fresh`: a new process for every round, warmed up with `--warmup` logins. A fresh process
 *   still interprets and compiles the login path: V8 keeps optimising functions of it for the
 *   first thousand or so logins (bench/FINDINGS.md §11);
 * - `--no-build` (reuse the last build of the working tree), `--keep NAME`, `--with NAME`
 *   (repeatable);
 * - diagnosis: `--flags-variant='--flag …'` (the same build beside it with more `node` flags;
 *   repeatable), `--node-flags='…'` (more `node` flags for every BFF), `--prof` (one BFF under
 *   `--cpu-prof`, summarised by `profile.ts`: wall-time samples of the main thread), `--perf`
 *   (one BFF under `perf record` with a jitdump: on-CPU samples of all its threads, what `/proc`
 *   counts), `--strace` (one BFF under `strace -c -f`); `--subject NAME` runs these on a `--with`
 *   build rather than the working tree's.
 *
 * Builds go to `apps/bff/dist/login-cpu/<name>.js` with the package's own esbuild command (so
 * its external dependencies resolve from `apps/bff/node_modules`), never over
 * `apps/bff/dist/server.js`, which `pnpm bench` may be running at the same time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDevClientFor, startDevIdp } from '@okta-bff/dev-idp';
import { DEV_IDP } from '@okta-bff/oidc';
import {
  APACHE_LOGIN_PATH,
  APACHE_SESSION_COOKIE,
  apacheIdpClient,
  findApache,
  startApache,
} from './apache-openidc.ts';
import { type AppLogin, signInConcurrently } from './login.ts';
import { type Child, freePort, startChild } from './processes.ts';
import { newestProfile, summarizeProfile } from './profile.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BFF_DIR = fileURLToPath(new URL('../apps/bff/', import.meta.url));
const BUILD_DIR = `${BFF_DIR}dist/login-cpu/`;
const PROFILE_DIR = fileURLToPath(new URL('./dist/login-cpu-profiles/', import.meta.url));
const APACHE_CLIENT = {
  clientId: '0oalogincpuapache00',
  clientSecret: 'login-cpu-only-apache-client-secret',
};

const { values: args } = parseArgs({
  options: {
    logins: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '4' },
    'log-level': { type: 'string', default: 'warn' },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'string' },
    with: { type: 'string', multiple: true, default: [] },
    apache: { type: 'boolean', default: false },
    prof: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    'flags-variant': { type: 'string', multiple: true, default: [] },
    perf: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    strace: { type: 'boolean', default: false },
    subject: { type: 'string', default: 'current' },
  },
});
const LOGINS = Number(args.logins);
const WARMUP = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const LOG_LEVEL = args['log-level'] ?? 'warn';

/** Node flags of `pnpm start` (apps/bff/package.json), so the BFF runs as production runs it. */
const packageJson = JSON.parse(readFileSync(`${BFF_DIR}package.json`, 'utf8')) as {
  scripts: { start: string; build: string };
};
const START_FLAGS = [
  ...packageJson.scripts.start.split(/\s+/).filter((word) => word.startsWith('--')),
  // Diagnosis only (e.g. `--trace-gc`): production runs with the start script's flags alone.
  ...(args['node-flags'] ?? '').split(/\s+/).filter(Boolean),
];

/** The package's own build command, writing to `outfile` instead of `dist/server.js`. */
function build(outfile: string): void {
  const words = packageJson.scripts.build.split(/\s+/);
  if (words[0] !== 'esbuild') throw new Error(`unexpected build script: ${packageJson.scripts.build}`);
  const esbuildArgs = words
    .slice(1)
    .map((word) => (word.startsWith('--outfile=') ? `--outfile=${outfile}` : word));
  execFileSync('pnpm', ['exec', 'esbuild', ...esbuildArgs, '--log-level=warning'], {
    cwd: BFF_DIR,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/**
 * CPU ms of `pid`'s main thread (the event loop, what `--cpu-prof` samples) and of its other
 * threads together: the libuv pool (WebCrypto jobs, async zlib) and V8's helpers (compilation,
 * concurrent GC). Node 20 names them all `node`, so they are told apart by thread id only. From
 * `/proc/<pid>/task/<tid>/schedstat` (time on a CPU, in nanoseconds): `/proc/<pid>/stat` counts
 * in 10 ms ticks, which quantises a round of 40 logins to 0.25 ms per login. Node's threads live
 * as long as the process, so none of their time is lost with an exited thread.
 */
function threadCpuMs(pid: number): { main: number; others: number } {
  const out = { main: 0, others: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let schedstat: string;
    try {
      schedstat = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    } catch {
      continue; // the thread exited since it was listed
    }
    const ms = Number(schedstat.split(' ')[0]) / 1e6;
    if (Number(tid) === pid) out.main += ms;
    else out.others += ms;
  }
  return out;
}

interface Target {
  readonly name: string;
  readonly login: AppLogin;
  readonly start: (nodeFlags?: readonly string[], cwd?: string) => Promise<Child>;
  child?: Child;
  readonly perRound: number[];
  /** Kernel time (stime) per login, per round: BFF processes only. */
  readonly sysPerRound: number[];
  /** The same CPU time from `/proc/<pid>/stat` (10 ms ticks), as `pnpm bench` reads it: BFFs only. */
  readonly ticksPerRound: number[];
}

/** utime and stime of one process, in milliseconds (`/proc/<pid>/stat` fields 14 and 15). */
const MS_PER_TICK = 1000 / (Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);
function userSysMs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * MS_PER_TICK, sys: Number(fields[12]) * MS_PER_TICK };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (x: number) => x.toFixed(2);

async function main() {
  mkdirSync(BUILD_DIR, { recursive: true });
  const current = `${BUILD_DIR}current.js`;
  if (!args['no-build']) {
    const started = performance.now();
    build(current);
    console.log(`built the working tree into ${current} (${Math.round(performance.now() - started)} ms)`);
  }
  if (args.keep) copyFileSync(current, `${BUILD_DIR}${args.keep}.js`);
  const builds: { name: string; entry: string; flags?: string[] }[] = [
    ...(args.with ?? []).map((name) => ({ name, entry: `${BUILD_DIR}${name}.js` })),
    // The working tree's build again with more `node` flags (diagnosis: what the runtime changes).
    ...(args['flags-variant'] ?? []).map((flags) => ({
      name: `current ${flags}`,
      entry: current,
      flags: flags.split(/\s+/).filter(Boolean),
    })),
    { name: 'current', entry: current },
  ];
  const apache = args.apache ? findApache() : undefined;
  if (apache && !apache.available) throw new Error(`--apache: ${apache.reason}`);

  const ports = await Promise.all([...builds.map(() => freePort()), freePort()]);
  const origins = ports.map((port) => `http://localhost:${port}`);
  const apacheOrigin = origins[builds.length] as string;
  const idp = await startDevIdp({
    port: 0,
    clients: [
      createDevClientFor(...origins.slice(0, builds.length)),
      apacheIdpClient(apacheOrigin, APACHE_CLIENT, 'login-cpu apache + mod_auth_openidc'),
    ],
  });
  const secret = `login-cpu-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const targets: Target[] = builds.map(({ name, entry, flags = [] }, i) => {
    const port = ports[i] as number;
    const origin = origins[i] as string;
    return {
      name: `bff ${name}`,
      login: { origin, loginPath: '/auth/login', sessionCookie: 'bff_session' },
      perRound: [],
      sysPerRound: [],
      ticksPerRound: [],
      start: (nodeFlags = START_FLAGS, cwd = REPO_ROOT) =>
        startChild({
          name: `bff ${name}`,
          args: [...nodeFlags, ...flags, entry],
          env: {
            OKTA_ISSUER: idp.issuer,
            CLIENT_ID: DEV_IDP.clientId,
            CLIENT_SECRET: DEV_IDP.clientSecret,
            REDIRECT_URL: `${origin}/authorization-code/callback`,
            SESSION_SECRET: secret,
            API_UPSTREAM_URL: 'http://127.0.0.1:9',
            RATE_LIMIT_LOGIN_PER_MIN: '0',
            PORT: String(port),
            HOST: '127.0.0.1',
            LOG_LEVEL,
            // What `apps/bff/dist/server.js` finds relative to itself; these builds live one level deeper.
            ENV_FILE: `${REPO_ROOT}.env`,
            STATIC_DIR: `${REPO_ROOT}apps/web/dist`,
          },
          readyUrl: `http://127.0.0.1:${port}/readyz`,
          cwd,
        }),
    };
  });
  if (apache?.available) {
    const port = ports[builds.length] as number;
    targets.push({
      name: 'apache + mod_auth_openidc',
      login: { origin: apacheOrigin, loginPath: APACHE_LOGIN_PATH, sessionCookie: APACHE_SESSION_COOKIE },
      perRound: [],
      sysPerRound: [],
      ticksPerRound: [],
      start: () =>
        startApache({
          port,
          origin: apacheOrigin,
          issuer: idp.issuer,
          upstreamUrl: 'http://127.0.0.1:9',
          ...APACHE_CLIENT,
        }),
    });
  }

  try {
    // The diagnosis modes run one build: `--subject NAME` (a `--with` build), else the working tree's.
    const subject =
      targets.find((t) => t.name === `bff ${args.subject}`) ?? (targets.at(builds.length - 1) as Target);
    if (args.prof) {
      await profileOnce(subject);
      return;
    }
    if (args.perf) {
      await perfOnce(subject);
      return;
    }
    if (args.strace) {
      await straceOnce(subject);
      return;
    }
    const perRound = Math.ceil(LOGINS / ROUNDS);
    console.log(
      `${ROUNDS} rounds of ${perRound} logins, ${CONCURRENCY} at a time, LOG_LEVEL=${LOG_LEVEL}, after ${WARMUP} warm-up logins ${args.fresh ? 'in a fresh process each round' : 'each'}`,
    );
    const startAll = async () => {
      for (const target of targets) target.child = await target.start();
      for (const target of targets) await signInConcurrently(target.login, WARMUP, CONCURRENCY);
    };
    if (!args.fresh) await startAll();
    const threads = targets.map(() => ({ main: 0, others: 0 }));
    for (let round = 0; round < ROUNDS; round++) {
      if (args.fresh) await startAll();
      // The order rotates so that no target always follows the same one.
      const order = targets.map((_, i) => (i + round) % targets.length);
      for (const index of order) {
        const target = targets[index] as Target;
        const child = target.child as Child;
        const isBff = !target.name.startsWith('apache');
        const threadsBefore = isBff ? threadCpuMs(child.pid) : undefined;
        const cpu = child.cpuMs();
        const sys = isBff ? userSysMs(child.pid).sys : 0;
        await signInConcurrently(target.login, perRound, CONCURRENCY);
        const ticks = (child.cpuMs() - cpu) / perRound;
        if (!isBff || !threadsBefore) target.perRound.push(ticks);
        else {
          target.sysPerRound.push((userSysMs(child.pid).sys - sys) / perRound);
          target.ticksPerRound.push(ticks);
          const after = threadCpuMs(child.pid);
          target.perRound.push(
            (after.main + after.others - threadsBefore.main - threadsBefore.others) / perRound,
          );
          (threads[index] as { main: number }).main += after.main - threadsBefore.main;
          (threads[index] as { others: number }).others += after.others - threadsBefore.others;
        }
      }
      if (args.fresh) await Promise.all(targets.map((t) => t.child?.stop()));
    }
    console.log(
      '\nCPU ms per login: BFFs from schedstat (ns), Apache from /proc/<pid>/stat ticks of its process tree.',
    );
    console.log('\n| target | median ms/login | min | max | of which kernel | ticks (median) | rounds |');
    console.log('|---|---:|---:|---:|---:|---:|---|');
    for (const t of targets) {
      // Apache's tree is counted as a whole (workers run as another user): no split.
      const bff = !t.name.startsWith('apache');
      console.log(
        `| ${t.name} | **${fmt(median(t.perRound))}** | ${fmt(Math.min(...t.perRound))} | ${fmt(Math.max(...t.perRound))} | ${bff ? fmt(median(t.sysPerRound)) : ''} | ${bff ? fmt(median(t.ticksPerRound)) : ''} | ${t.perRound.map(fmt).join(' ')} |`,
      );
    }
    console.log('\nCPU per login by thread (all rounds):');
    targets.forEach((t, i) => {
      if (t.name.startsWith('apache')) return;
      const { main, others } = threads[i] as { main: number; others: number };
      const logins = perRound * ROUNDS;
      console.log(`  ${t.name}: main thread ${fmt(main / logins)}, other threads ${fmt(others / logins)}`);
    });
    // Paired by round: targets of one round ran back to back on the same machine state.
    const [first, ...others] = targets;
    if (first && others.length > 0) {
      console.log(`\nPer-round ratio to ${first.name} (median [quartiles]):`);
      for (const t of others) {
        const ratios = t.perRound.map((ms, i) => ms / (first.perRound[i] as number)).sort((a, b) => a - b);
        const q = (f: number) =>
          (ratios[Math.min(ratios.length - 1, Math.floor(f * ratios.length))] as number).toFixed(3);
        console.log(`  ${t.name}: ${median(ratios).toFixed(3)} [${q(0.25)}, ${q(0.75)}]`);
      }
    }
    const reference = targets.find((t) => t.name.startsWith('apache'));
    if (reference) {
      for (const t of targets.filter((x) => x !== reference)) {
        console.log(`${t.name}: ${(median(t.perRound) / median(reference.perRound)).toFixed(2)}× apache`);
      }
    }
  } finally {
    await Promise.all(targets.map((t) => t.child?.stop()));
    await idp.close();
  }
}

/** One BFF with `--cpu-prof`, warmed up, then the logins; prints where the time went. */
async function profileOnce(target: Target): Promise<void> {
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  mkdirSync(PROFILE_DIR, { recursive: true });
  const child = await target.start([
    ...START_FLAGS,
    '--cpu-prof',
    '--cpu-prof-dir',
    PROFILE_DIR,
    '--cpu-prof-interval',
    '200',
  ]);
  let skipMs = 0;
  let cpu = 0;
  try {
    await signInConcurrently(target.login, WARMUP, CONCURRENCY);
    skipMs = performance.now() - child.startedAt;
    cpu = child.cpuMs();
    await signInConcurrently(target.login, LOGINS, CONCURRENCY);
    cpu = child.cpuMs() - cpu;
  } finally {
    await child.stop();
  }
  const file = newestProfile(PROFILE_DIR);
  if (!file) throw new Error(`no profile in ${PROFILE_DIR}`);
  const summary = summarizeProfile(file, { skipMs, count: Number(process.env.PROFILE_FRAMES ?? 40) });
  console.log(`${target.name}: ${fmt(cpu / LOGINS)} ms CPU per login under --cpu-prof (profiler included)`);
  console.log(
    `profile: ${file}; ${summary.sampledMs.toFixed(0)} ms sampled, ${fmt(summary.sampledMs / LOGINS)} ms/login`,
  );
  const rows = (frames: readonly { frame: string; share: number }[]) =>
    frames
      .map(
        (f) =>
          `${(f.share * 100).toFixed(1).padStart(5)} % ${fmt((f.share * summary.sampledMs) / LOGINS)} ms  ${f.frame}`,
      )
      .join('\n');
  console.log(`\nkinds of work (self):\n${rows(summary.categories)}`);
  console.log(`\nself:\n${rows(summary.self)}`);
  console.log(`\ninclusive (app and library frames):\n${rows(summary.inclusive)}`);
}

/**
 * One BFF under `perf record` (on-CPU samples of every thread, kernel included: what `/proc`
 * counts, unlike `--cpu-prof`, which samples the main thread's wall time), JIT frames named
 * through `--perf-basic-prof`. Prints `perf report`'s flat profile by symbol and by thread kind.
 */
async function perfOnce(target: Target): Promise<void> {
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  mkdirSync(PROFILE_DIR, { recursive: true });
  const data = `${PROFILE_DIR}perf.data`;
  const jitted = `${PROFILE_DIR}perf.jit.data`;
  // `--perf-prof` writes a jitdump (code moves included, unlike `--perf-basic-prof`'s map, whose
  // names go stale when V8 reuses an address) into the working directory: this one.
  const child = await target.start(
    [...START_FLAGS, '--perf-prof', '--interpreted-frames-native-stack'],
    PROFILE_DIR,
  );
  try {
    await signInConcurrently(target.login, WARMUP, CONCURRENCY);
    const perf = spawn(
      'perf',
      ['record', '-k', 'mono', '-e', 'cpu-clock', '-F', '4000', '-g', '-p', String(child.pid), '-o', data],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exited = new Promise((resolve) => perf.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const cpu = child.cpuMs();
    await signInConcurrently(target.login, LOGINS, CONCURRENCY);
    console.log(`${target.name}: ${fmt((child.cpuMs() - cpu) / LOGINS)} ms CPU per login under perf`);
    perf.kill('SIGINT');
    await exited;
  } finally {
    await child.stop();
  }
  execFileSync('perf', ['inject', '--jit', '-i', data, '-o', jitted], { cwd: PROFILE_DIR, stdio: 'ignore' });
  console.log(`perf data: ${jitted}; e.g. perf report -i ${jitted} --no-children --sort sym`);
  const report = execFileSync(
    'perf',
    [
      'report',
      '-i',
      jitted,
      '--no-children',
      '--sort',
      'sym',
      '--stdio',
      '-g',
      'none',
      '--percent-limit',
      '0.4',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  console.log(
    report
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .join('\n'),
  );
}

/** One BFF under `strace -c -f`: the system calls of `--logins` logins, counted per login. */
async function straceOnce(target: Target): Promise<void> {
  const child = await target.start();
  try {
    await signInConcurrently(target.login, WARMUP, CONCURRENCY);
    const out = `${PROFILE_DIR}strace.txt`;
    mkdirSync(PROFILE_DIR, { recursive: true });
    const strace = spawn('strace', ['-c', '-f', '-o', out, '-p', String(child.pid)], { stdio: 'ignore' });
    const exited = new Promise((resolve) => strace.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await signInConcurrently(target.login, LOGINS, CONCURRENCY);
    strace.kill('SIGINT');
    await exited;
    console.log(`${target.name}: system calls of ${LOGINS} logins (${out})`);
    console.log(readFileSync(out, 'utf8'));
  } finally {
    await child.stop();
  }
}

await main();
