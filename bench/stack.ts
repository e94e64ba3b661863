/**
 * Builds and starts everything a run needs on loopback: the embedded IdP (in this process,
 * with one client for the BFF, one for the express alternative and one for Apache), the
 * upstream, the WebSocket upstream, the bare proxy, the BFF's production build, the express
 * alternative, Apache httpd with mod_auth_openidc when installed, and a `redis-server` for the
 * `SESSION_STORE=redis` BFFs, each in its own process; and, on request, BFFs with one more
 * setting (metrics, tracing, `API_TOKEN_TYPE=dpop`, an `API_ROUTES` table).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDevClient, createDevClientFor, type DevIdp, startDevIdp } from '@okta-bff/dev-idp';
import { DEV_IDP } from '@okta-bff/oidc';
import { build } from 'esbuild';
// The test helper that spawns a real redis-server (free loopback port, no persistence, temp dir
// removed at exit): the bench runs under tsx, so importing it needs no bundling.
import { type RedisServer, startRedisServer } from '../apps/bff/src/testing/redis-server.ts';
import { apacheIdpClient, findApache, startApache } from './apache-openidc.ts';
import { type Child, cpuTimeMs, freePort, rssBytes, startChild } from './processes.ts';
import type { RouteEntry } from './routes.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const BFF_ENTRY = fileURLToPath(new URL('../apps/bff/dist/server.js', import.meta.url));
/** Node flags of `pnpm start` (apps/bff/package.json), so the bench runs the BFF as production does. */
const BFF_START_FLAGS: string[] = (
  JSON.parse(readFileSync(new URL('../apps/bff/package.json', import.meta.url), 'utf8')).scripts
    .start as string
)
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));

/** Random per run: sessions are sealed with it, and nothing outlives the run. */
const SESSION_SECRET = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const EXPRESS_CLIENT = { clientId: '0oabenchexpress0000', clientSecret: 'bench-only-express-client-secret' };
const APACHE_CLIENT = { clientId: '0oabenchapache00000', clientSecret: 'bench-only-apache-client-secret' };

/** SHA-256 of the BFF build this run made (`buildAll`); undefined when it built nothing. */
let builtBffHash: string | undefined;
const bffBuildHash = () => createHash('sha256').update(readFileSync(BFF_ENTRY)).digest('hex');

/**
 * Refuses to start a BFF from `apps/bff/dist/server.js` once it is no longer the build this run
 * made: someone else ran `pnpm build` meanwhile (the repository is shared), and the BFFs started
 * from then on would run other code than those already measured.
 */
function checkBffBuild(entry: string): void {
  if (entry !== BFF_ENTRY || builtBffHash === undefined || bffBuildHash() === builtBffHash) return;
  throw new Error(
    'bench: apps/bff/dist/server.js changed since this run built it (another `pnpm build` meanwhile?): ' +
      'the figures would mix two builds of the BFF; run the benchmark again',
  );
}

/** The SPA and the BFF as `pnpm build` makes them, and the bench's own servers bundled the same way. */
export async function buildAll(): Promise<void> {
  for (const app of ['@okta-bff/bff', '@okta-bff/web']) {
    execFileSync('pnpm', ['--filter', app, 'build'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  builtBffHash = bffBuildHash();
  // Bundled like the BFF (dependencies left external), so no process pays for tsx's loader.
  await build({
    entryPoints: ['upstream', 'ws-upstream', 'bare-proxy', 'express-alt'].map((name) =>
      fileURLToPath(new URL(`./servers/${name}.ts`, import.meta.url)),
    ),
    outdir: BENCH_DIST,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}

export interface BffOptions {
  readonly logLevel: string;
  /** `SESSION_STORE`: left unset (the default, `cookie`) unless `redis`. */
  readonly sessionStore?: 'cookie' | 'redis';
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  /** Another build of the BFF to run instead of `apps/bff/dist/server.js`, for what-if experiments. */
  readonly entry?: string;
  /** More environment, e.g. `METRICS_PORT` or `OTEL_EXPORTER_OTLP_ENDPOINT`; named in the process name. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * `API_ROUTES` instead of `API_UPSTREAM_URL` (the BFF refuses both at once); named in the
   * process name by its number of routes.
   */
  readonly routes?: readonly RouteEntry[];
}

export interface Stack {
  readonly idp: DevIdp;
  readonly upstream: Child;
  readonly upstreamUrl: string;
  /** The WebSocket echo server (`servers/ws-upstream.ts`); `http://127.0.0.1:<port>`. */
  readonly wsUpstream: Child;
  readonly wsUpstreamUrl: string;
  readonly bare: Child;
  readonly bareUrl: string;
  readonly bff: Child;
  /** `http://localhost:<port>`, the BFF's public origin. */
  readonly bffOrigin: string;
  readonly express: Child;
  readonly expressOrigin: string;
  /** Apache httpd + mod_auth_openidc, or why it is not running (not installed, as on CI). */
  readonly apache: ApachePeer;
  /** `redis-server` (`--save '' --appendonly no`, loopback, free port) for the Redis-store BFFs. */
  readonly redis: Child;
  /**
   * A `SESSION_STORE=redis` BFF on the registered origin `instance` (0 or 1: two origins are
   * registered with the IdP, so either can sign in), sharing the session secret and Redis with
   * the other. `url` is `http://127.0.0.1:<port>`, `origin` `http://localhost:<port>`. The
   * caller stops it.
   */
  startRedisBff(
    instance: 0 | 1,
    options: Omit<BffOptions, 'sessionStore'>,
  ): Promise<{ child: Child; url: string; origin: string }>;
  /**
   * An `API_TOKEN_TYPE=dpop` BFF (cookie store) on a registered origin of its own, so that it
   * signs in itself: its sessions hold a DPoP key, and the IdP binds their tokens to it. Same
   * URL shapes as {@link startRedisBff}; one at a time. The caller stops it.
   */
  startDpopBff(options: BffOptions): Promise<{ child: Child; url: string; origin: string }>;
  /**
   * Another BFF process sharing the session secret (so the same cookie works), e.g. with
   * `LOG_LEVEL=info` or `--cpu-prof`. The caller stops it.
   */
  startExtraBff(options: BffOptions): Promise<{ child: Child; url: string }>;
  /** Another bare proxy process, e.g. with `--cpu-prof`. The caller stops it. */
  startExtraBare(nodeFlags: readonly string[]): Promise<{ child: Child; url: string }>;
  /**
   * Replaces the BFF (or the express alternative) by a new process on the same port, so that
   * sign-ins, whose redirect URI names that port, reach it; `bff` / `express` then point to it.
   */
  restartBff(options: BffOptions): Promise<Child>;
  restartExpress(nodeFlags: readonly string[]): Promise<Child>;
  stop(): Promise<void>;
}

/**
 * The Apache peer when it runs. `origin` is `http://localhost:<port>`, also for the load:
 * mod_auth_openidc refuses its session cookie on another host name than it was issued for.
 */
export type ApachePeer =
  | {
      readonly running: true;
      readonly child: Child;
      readonly origin: string;
      readonly version: string;
    }
  | { readonly running: false; readonly reason: string };

export async function startStack(): Promise<Stack> {
  const [
    upstreamPort,
    wsUpstreamPort,
    barePort,
    bffPort,
    expressPort,
    redisBffPortA,
    redisBffPortB,
    dpopBffPort,
    apachePort,
  ] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const apacheOrigin = `http://localhost:${apachePort}`;
  const bffOrigin = `http://localhost:${bffPort}`;
  const redisBffPorts = [redisBffPortA, redisBffPortB] as const;
  const redisBffOrigins = [`http://localhost:${redisBffPortA}`, `http://localhost:${redisBffPortB}`] as const;
  const dpopBffOrigin = `http://localhost:${dpopBffPort}`;
  const expressOrigin = `http://localhost:${expressPort}`;
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const wsUpstreamUrl = `http://127.0.0.1:${wsUpstreamPort}`;

  const idp = await startDevIdp({
    port: 0,
    clients: [
      // The first origin also gets the logout channels; the two Redis-store instances and the
      // API_TOKEN_TYPE=dpop BFF sign in too. The default client gets DPoP-bound tokens whenever
      // its token request carries a DPoP proof.
      createDevClientFor(bffOrigin, ...redisBffOrigins, dpopBffOrigin),
      {
        ...createDevClient({
          redirectUris: [`${expressOrigin}/callback`],
          postLogoutRedirectUris: [`${expressOrigin}/`],
        }),
        client_id: EXPRESS_CLIENT.clientId,
        client_secret: EXPRESS_CLIENT.clientSecret,
        client_name: 'bench express alternative',
      },
      apacheIdpClient(apacheOrigin, APACHE_CLIENT, 'bench apache + mod_auth_openidc'),
    ],
  });
  const children: Child[] = [];
  const track = (child: Child) => {
    children.push(child);
    return child;
  };

  let redisServer: RedisServer | undefined;
  const bffEnv = (
    port: number,
    logLevel: string,
    sessionStore: 'cookie' | 'redis',
    origin: string,
    extra: Readonly<Record<string, string>>,
    routes: readonly RouteEntry[] | undefined,
  ) => ({
    OKTA_ISSUER: idp.issuer,
    CLIENT_ID: DEV_IDP.clientId,
    CLIENT_SECRET: DEV_IDP.clientSecret,
    // A registered redirect URI: the cookie-store BFF processes all use the first origin's (only
    // the one on that port ever signs in), each Redis-store instance its own.
    REDIRECT_URL: `${origin}/authorization-code/callback`,
    SESSION_SECRET,
    ...(routes ? { API_ROUTES: JSON.stringify(routes) } : { API_UPSTREAM_URL: upstreamUrl }),
    // The login scenario signs in from one address hundreds of times a minute.
    RATE_LIMIT_LOGIN_PER_MIN: '0',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: logLevel,
    ...(sessionStore === 'redis' ? { SESSION_STORE: 'redis', REDIS_URL: requireRedis(redisServer).url } : {}),
    ...extra,
  });
  const startBff = async (
    port: number,
    {
      logLevel,
      sessionStore = 'cookie',
      nodeFlags = BFF_START_FLAGS,
      entry = BFF_ENTRY,
      env = {},
      routes,
    }: BffOptions,
    origin = bffOrigin,
  ) => {
    checkBffBuild(entry);
    return startChild({
      name: `bff (${[`LOG_LEVEL=${logLevel}`, ...(sessionStore === 'redis' ? ['SESSION_STORE=redis'] : []), ...(routes ? [`API_ROUTES=${routes.length} routes`] : []), ...Object.entries(env).map(([name, value]) => `${name}=${value}`)].join(', ')})`,
      args: [...nodeFlags, entry],
      env: bffEnv(port, logLevel, sessionStore, origin, env, routes),
      // With Redis, /readyz answers 200 only once the store answers.
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      cwd: REPO_ROOT,
    });
  };
  const expressEnv = (port: number) => ({
    PORT: String(port),
    ISSUER: idp.issuer,
    CLIENT_ID: EXPRESS_CLIENT.clientId,
    CLIENT_SECRET: EXPRESS_CLIENT.clientSecret,
    SESSION_SECRET,
    UPSTREAM_URL: upstreamUrl,
    NODE_ENV: 'production',
  });
  const startExpress = (port: number, nodeFlags: readonly string[] = []) =>
    startChild({
      name: 'express alternative',
      args: [...nodeFlags, `${BENCH_DIST}express-alt.js`],
      env: expressEnv(port),
      readyUrl: `http://127.0.0.1:${port}/healthz`,
      cwd: REPO_ROOT,
    });

  const startBare = (port: number, nodeFlags: readonly string[] = []) =>
    startChild({
      name: 'bare proxy',
      args: [...nodeFlags, `${BENCH_DIST}bare-proxy.js`],
      env: { PORT: String(port), UPSTREAM_URL: upstreamUrl },
      readyUrl: `http://127.0.0.1:${port}/healthz`,
    });

  const closeAll = async () => {
    await Promise.all(children.map((child) => child.stop()));
    await redisServer?.close();
    await idp.close();
  };

  try {
    redisServer = await startRedisServer();
    const redis = redisChild(redisServer);
    const upstream = track(
      await startChild({
        name: 'upstream',
        args: [`${BENCH_DIST}upstream.js`],
        env: { PORT: String(upstreamPort) },
        readyUrl: `${upstreamUrl}/healthz`,
      }),
    );
    // Bundled with `ws` left external: it resolves from bench/node_modules, as the express alternative's packages do.
    const wsUpstream = track(
      await startChild({
        name: 'ws upstream',
        args: [`${BENCH_DIST}ws-upstream.js`],
        env: { PORT: String(wsUpstreamPort) },
        readyUrl: `${wsUpstreamUrl}/healthz`,
      }),
    );
    const [bare, bff, express] = await Promise.all([
      startBare(barePort).then(track),
      startBff(bffPort, { logLevel: 'warn' }).then(track),
      startExpress(expressPort).then(track),
    ]);
    const apache = await startApachePeer(apachePort, apacheOrigin, idp.issuer, upstreamUrl);
    if (apache.running) track(apache.child);
    let currentBff = bff;
    let currentExpress = express;
    return {
      idp,
      upstream,
      upstreamUrl,
      wsUpstream,
      wsUpstreamUrl,
      bare,
      bareUrl: `http://127.0.0.1:${barePort}`,
      get bff() {
        return currentBff;
      },
      bffOrigin,
      get express() {
        return currentExpress;
      },
      expressOrigin,
      apache,
      redis,
      async startRedisBff(instance, options) {
        const port = redisBffPorts[instance];
        const origin = redisBffOrigins[instance];
        const child = track(await startBff(port, { ...options, sessionStore: 'redis' }, origin));
        return { child, url: `http://127.0.0.1:${port}`, origin };
      },
      async startDpopBff(options) {
        const env = { ...options.env, API_TOKEN_TYPE: 'dpop' };
        const child = track(await startBff(dpopBffPort, { ...options, env }, dpopBffOrigin));
        return { child, url: `http://127.0.0.1:${dpopBffPort}`, origin: dpopBffOrigin };
      },
      async restartBff(options) {
        await currentBff.stop();
        currentBff = track(await startBff(bffPort, options));
        return currentBff;
      },
      async restartExpress(nodeFlags) {
        await currentExpress.stop();
        currentExpress = track(await startExpress(expressPort, nodeFlags));
        return currentExpress;
      },
      async startExtraBff(options) {
        const port = await freePort();
        return { child: track(await startBff(port, options)), url: `http://127.0.0.1:${port}` };
      },
      async startExtraBare(nodeFlags) {
        const port = await freePort();
        return { child: await startBare(port, nodeFlags), url: `http://127.0.0.1:${port}` };
      },
      stop: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function startApachePeer(
  port: number,
  origin: string,
  issuer: string,
  upstreamUrl: string,
): Promise<ApachePeer> {
  const found = findApache();
  if (!found.available) return { running: false, reason: found.reason };
  const child = await startApache({ port, origin, issuer, upstreamUrl, ...APACHE_CLIENT });
  return { running: true, child, origin, version: found.version };
}

function requireRedis(server: RedisServer | undefined): RedisServer {
  if (!server) throw new Error('bench: redis-server is not running');
  return server;
}

/** The test helper's redis-server as a {@link Child}: its own CPU and RSS from `/proc`. */
function redisChild(server: RedisServer): Child {
  const pid = server.pid;
  if (pid === undefined) throw new Error('bench: redis-server has no pid');
  return {
    name: 'redis-server',
    pid,
    startedAt: performance.now(),
    cpuMs: () => cpuTimeMs(pid),
    rss: () => rssBytes(pid),
    // Stops it and removes its temp dir; idempotent.
    stop: () => server.close(),
  };
}
