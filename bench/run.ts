/**
 * `pnpm bench` (full, about 14 minutes) or `pnpm bench --quick` / `BENCH_QUICK=1` (about 3):
 * builds the BFF and the SPA, starts everything on loopback, measures, and writes
 * `bench/RESULTS.md` (quick: `bench/RESULTS.quick.md`, so a smoke run never overwrites the
 * tracked numbers). A full run also appends its Targets figures to `bench/runs.json`, which both
 * reports show across runs. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEV_IDP } from '@okta-bff/oidc';
import { APACHE_LOGIN_PATH, APACHE_PEER, APACHE_SESSION_COOKIE } from './apache-openidc.ts';
import { type MeasuredLoad, measureLoad, runLoad } from './load.ts';
import { type AppLogin, signIn, signInConcurrently } from './login.ts';
import { startOtlpReceiver } from './otlp-receiver.ts';
import { type Child, freePort, machineBusyMs } from './processes.ts';
import { newestProfile, type ProfileSummary, summarizeProfile } from './profile.ts';
import {
  BFF_DEFAULTS,
  BFF_DPOP,
  BFF_METRICS,
  BFF_TRACING,
  BFF_TRACING_SAMPLED,
  type Cell,
  type DpopCheck,
  type MemoryResult,
  type OpsChecks,
  parseReport,
  type RevocationResult,
  type RevocationTrial,
  type RunReport,
  renderResults,
  targetRows,
} from './report.ts';
import type { LoginResult, WarmLogins } from './report-logins.ts';
import {
  BARE,
  BARE_NO_COOKIE,
  type Baseline,
  BFF_CLIENT_TOKEN,
  BFF_TEN_ROUTES,
  CLIENT_TOKEN_MAX_IDP_CALLS,
  type ClientTokenCheck,
  parseBaseline,
  type TenRoutesInfo,
  type WebSocketResults,
} from './report-routes.ts';
import {
  CLIENT_ROUTE_SCOPE,
  clientTokenRoutes,
  prefixesTried,
  TEN_ROUTES_LOAD_ROUTE,
  tenRoutes,
  WEBSOCKET_PREFIX,
  webSocketRoutes,
} from './routes.ts';
import { appendRun, parseRuns, type RunRecord, runRecord, serializeRuns } from './run-history.ts';
import { measureSpaSize } from './spa-size.ts';
import { BENCH_DIST, buildAll, type Stack, startStack } from './stack.ts';
import { firstMessage, measureWebSockets, type SocketTarget, warmUpSockets } from './websockets.ts';

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
/** Users signing in at once for the warm logins: a login storm, as bench/login-cpu.ts measures by default. */
const WARM_LOGIN_CONCURRENCY = 4;
/**
 * The warm logins: `warmupLogins` more per app after the cold ones, then `warmLogins` measured in
 * `warmLoginRounds` rounds, all {@link WARM_LOGIN_CONCURRENCY} at a time.
 */
const warmLogins = (warmupLogins: number, logins: number, rounds: number) => ({
  warmupLogins,
  warmLogins: logins,
  warmLoginRounds: rounds,
  warmLoginConcurrency: WARM_LOGIN_CONCURRENCY,
});
/** The WebSocket scenario: sockets, one message per socket every `wsIntervalMs`, for `wsWindowS`. */
const WEBSOCKETS = { wsSockets: 1_000, wsIntervalMs: 100, wsWarmupSockets: 20 } as const;
const SETTINGS = QUICK
  ? {
      reps: 1,
      durationS: 1.5,
      warmupS: 1,
      memoryRequests: 20_000,
      logins: 8,
      ...warmLogins(20, 20, 2),
      profileS: 0,
      revocations: 5,
      ...WEBSOCKETS,
      wsWindowS: 5,
    }
  : {
      reps: 3,
      durationS: 3.5,
      warmupS: 2,
      memoryRequests: 200_000,
      logins: 40,
      ...warmLogins(300, 200, 4),
      profileS: 6,
      revocations: 20,
      ...WEBSOCKETS,
      wsWindowS: 20,
    };
/**
 * Sockets one session may hold open at the BFF (`MAX_SOCKETS_PER_SESSION` in
 * apps/bff/src/proxy/websocket-proxy.ts, docs/http-contract.md "WebSockets": 429 beyond), so the
 * WebSocket scenario signs in this many times fewer than it opens sockets.
 */
const WS_SOCKETS_PER_SESSION = 32;
/** The last tracked results (never the quick ones): the "must not get slower" target's baseline. */
const TRACKED_RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
/** The Targets figures of the last full runs (tracked): every full run appends, quick runs only read. */
const RUNS_FILE = fileURLToPath(new URL('./runs.json', import.meta.url));
/** Revocation: how often instance B is asked after the logout at A, and for how long at most. */
const REVOCATION_POLL_MS = 10;
const REVOCATION_LIMIT_MS = 5_000;
const CONNECTIONS = [1, 10, 50] as const;
const UPSTREAMS = [
  { name: 'fast', path: '/items' },
  { name: '5 ms', path: '/slow/items' },
] as const;
const OUT_FILE = fileURLToPath(new URL(QUICK ? './RESULTS.quick.md' : './RESULTS.md', import.meta.url));
const PROFILE_DIR = fileURLToPath(new URL('./dist/profiles/', import.meta.url));

interface Scenario {
  readonly name: string;
  readonly server: Child;
  /** Base URL; the upstream path is appended (`/api` prefixed for proxies). */
  readonly url: (path: string) => string;
  readonly headers: Record<string, string>;
  /** Cells it runs in; all when omitted. */
  readonly only?: (connections: number, upstream: string) => boolean;
  /** The process behind its session store (redis-server), whose CPU per request is measured too. */
  readonly store?: Child;
  /** The scheme it must forward to the upstream: `DPoP` (with a proof) for a DPoP BFF; default Bearer. */
  readonly scheme?: 'Bearer' | 'DPoP';
  /** It exports traces, so it must forward a `traceparent`; no other scenario may. */
  readonly traces?: boolean;
  /** It sends the BFF's own client-credentials token: the bearer's `sub` and a scope it must hold. */
  readonly clientToken?: { readonly clientId: string; readonly scope: string };
}

/** `OTEL_TRACES_SAMPLER_ARG` of the sampled tracing BFF: the share of requests traced. */
const TRACES_SAMPLED_RATIO = 0.1;

/** The new operations scenarios' cells: the fast upstream, at 1 and 50 connections. */
const OPS_CELLS = (connections: number, upstream: string) => upstream === 'fast' && connections !== 10;

/** The commit measured, whether apps/ or packages/ had uncommitted changes, and both said in words. */
function gitRevision(): { commit: string; uncommitted: boolean; text: string } {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'packages'], {
      encoding: 'utf8',
    }).trim();
    const text = dirty ? `${head} with uncommitted changes in apps/ or packages/` : head;
    return { commit: head, uncommitted: dirty !== '', text };
  } catch (error) {
    // Not a git checkout (e.g. an exported tree): the report just says so.
    return { commit: 'unknown', uncommitted: false, text: `unknown (${String(error).split('\n', 1)[0]})` };
  }
}

/** `bench/runs.json`'s records; none before the first full run. A malformed file throws. */
function readRunHistory(): RunRecord[] {
  if (!existsSync(RUNS_FILE)) return [];
  return parseRuns(readFileSync(RUNS_FILE, 'utf8'), RUNS_FILE);
}

/** Appends a full run's Targets figures to the history read at its start, and writes `bench/runs.json`. */
function recordRun(
  history: readonly RunRecord[],
  report: RunReport,
  revision: { commit: string; uncommitted: boolean },
): RunRecord[] {
  const record = runRecord({ ...revision, date: report.date, elapsedS: report.elapsedS }, targetRows(report));
  const runs = appendRun(history, record);
  writeFileSync(RUNS_FILE, serializeRuns(runs));
  log(`appended this run to ${RUNS_FILE} (${runs.length} recorded)`);
  return runs;
}

function log(message: string) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Checks that each proxy really answers 200 and forwards what it should, before measuring it:
 * a bearer (or, for a DPoP BFF, `DPoP` and a valid proof) and neither `Cookie` nor `X-CSRF`; a
 * `traceparent` only from the tracing BFF; for the client-token BFF, a bearer of its client id with
 * the route's scope. Returns what the DPoP BFF's proof and the client token said.
 */
async function checkForwarding(scenarios: readonly Scenario[], upstreamUrl: string) {
  let dpop: DpopCheck | undefined;
  let clientToken: { sub: string; scp: string[]; clientId: string } | undefined;
  for (const scenario of scenarios) {
    const response = await fetch(scenario.url('/echo'), { headers: scenario.headers });
    const body = (await response.json()) as { headers?: Record<string, string> };
    if (response.status !== 200) throw new Error(`${scenario.name}: /echo answered ${response.status}`);
    const forwarded = body.headers ?? {};
    const authenticated = ['bff', 'express', 'apache'].some((prefix) => scenario.name.startsWith(prefix));
    const scheme = scenario.scheme ?? 'Bearer';
    if (
      authenticated &&
      (!forwarded.authorization?.startsWith(`${scheme} `) || forwarded.cookie || forwarded['x-csrf'])
    ) {
      throw new Error(`${scenario.name}: forwards ${Object.keys(forwarded).join(', ')}`);
    }
    if (Boolean(forwarded.traceparent) !== Boolean(scenario.traces)) {
      throw new Error(
        `${scenario.name}: ${forwarded.traceparent ? 'forwards a traceparent' : 'forwards no traceparent'}`,
      );
    }
    if (scenario.scheme === 'DPoP') {
      dpop = checkDpopProof(scenario.name, forwarded, `${upstreamUrl}/echo`);
    }
    if (scenario.clientToken) {
      const claims = jwtClaims(forwarded.authorization?.slice('Bearer '.length) ?? '');
      const scp = Array.isArray(claims.scp) ? claims.scp.map(String) : [];
      if (claims.sub !== scenario.clientToken.clientId || !scp.includes(scenario.clientToken.scope)) {
        throw new Error(
          `${scenario.name}: forwards a bearer of sub ${String(claims.sub)} and scp ${scp.join(' ')}, ` +
            `not the client ${scenario.clientToken.clientId}'s for ${scenario.clientToken.scope}`,
        );
      }
      clientToken = { sub: String(claims.sub), scp, clientId: scenario.clientToken.clientId };
    }
  }
  return { dpop, clientToken };
}

/** The claims of a JWT (not verified: the bench only reads what the upstream was sent); `{}` if it is none. */
function jwtClaims(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) return {};
  try {
    return base64urlJson(parts[1]);
  } catch {
    return {};
  }
}

const base64urlJson = (part: string | undefined) =>
  JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * The `DPoP` header the upstream received (RFC 9449 §4.2, §7.1): an ES256 `dpop+jwt` signed by
 * the key in its header, for this method and URL, with `ath` the access token's hash; and, when
 * the access token is a JWT, whether its `cnf.jkt` is that key's thumbprint (RFC 7638).
 */
function checkDpopProof(name: string, forwarded: Record<string, string>, htu: string): DpopCheck {
  const proof = forwarded.dpop;
  const token = forwarded.authorization?.slice('DPoP '.length) ?? '';
  if (!proof) throw new Error(`${name}: forwards no DPoP proof`);
  const [headerPart, payloadPart, signaturePart] = proof.split('.');
  const header = base64urlJson(headerPart);
  const payload = base64urlJson(payloadPart);
  const jwk = header.jwk as JsonWebKey | undefined;
  if (!jwk || jwk.d !== undefined) throw new Error(`${name}: the DPoP proof has no public jwk`);
  const signed = verify(
    'sha256',
    Buffer.from(`${headerPart}.${payloadPart}`),
    { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signaturePart ?? '', 'base64url'),
  );
  const ath = createHash('sha256').update(token).digest('base64url');
  const check: DpopCheck = {
    typ: String(header.typ),
    alg: String(header.alg),
    htm: String(payload.htm),
    htu: String(payload.htu),
    signatureValid: signed,
    athMatches: payload.ath === ath,
    tokenBound: tokenBoundTo(token, jwk),
  };
  if (
    check.typ !== 'dpop+jwt' ||
    check.alg !== 'ES256' ||
    check.htm !== 'GET' ||
    check.htu !== htu ||
    !check.signatureValid ||
    !check.athMatches ||
    check.tokenBound === false
  ) {
    throw new Error(`${name}: unexpected DPoP proof ${JSON.stringify(check)}`);
  }
  return check;
}

/** Whether a JWT access token's `cnf.jkt` is the JWK's SHA-256 thumbprint; undefined if opaque. */
function tokenBoundTo(token: string, jwk: JsonWebKey): boolean | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const cnf = base64urlJson(parts[1]).cnf as { jkt?: string } | undefined;
  const thumbprint = createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
    .digest('base64url');
  return cnf?.jkt === thumbprint;
}

/** `bff_http_request_duration_seconds_count{group="api",status_class="2xx"}` from a `/metrics` page. */
async function scrapeApi2xxCount(metricsUrl: string): Promise<number> {
  const response = await fetch(metricsUrl);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${metricsUrl} answered ${response.status}`);
  for (const line of text.split('\n')) {
    const match = /^bff_http_request_duration_seconds_count\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = match[1] ?? '';
    if (labels.includes('group="api"') && labels.includes('status_class="2xx"')) return Number(match[2]);
  }
  throw new Error(`${metricsUrl}: no bff_http_request_duration_seconds_count for group="api", 2xx`);
}

async function runMatrix(scenarios: readonly Scenario[]): Promise<Cell[]> {
  const runs = new Map<string, MeasuredLoad[]>();
  for (let rep = 0; rep < SETTINGS.reps; rep++) {
    for (const upstream of UPSTREAMS) {
      for (const connections of CONNECTIONS) {
        const active = scenarios.filter((s) => s.only?.(connections, upstream.name) ?? true);
        // Interleaved, and the order rotates with each repetition so no scenario always runs first.
        const shift = (rep + connections) % active.length;
        for (const scenario of [...active.slice(shift), ...active.slice(0, shift)]) {
          const result = await measureLoad(
            {
              url: scenario.url(upstream.path),
              connections,
              durationS: SETTINGS.durationS,
              headers: scenario.headers,
            },
            scenario.server,
            scenario.store,
          );
          if (result.failures > 0) {
            throw new Error(`${scenario.name}: ${result.failures} failed requests (${result.failureKinds})`);
          }
          const key = `${scenario.name}|${upstream.name}|${connections}`;
          runs.set(key, [...(runs.get(key) ?? []), result]);
          log(
            `rep ${rep + 1}/${SETTINGS.reps} ${upstream.name.padEnd(4)} c=${String(connections).padStart(2)} ` +
              `${scenario.name.padEnd(24)} ${result.rps.toFixed(0).padStart(6)} req/s ` +
              `p99 ${result.p99Ms.toFixed(2)} ms cpu ${result.cpuMsPerRequest.toFixed(3)} ms/req` +
              (result.storeCpuMsPerRequest === undefined
                ? ''
                : ` (redis-server ${result.storeCpuMsPerRequest.toFixed(3)} ms/req)`),
          );
        }
      }
    }
  }
  return [...runs].map(([key, results]) => {
    const [scenario = '', upstream = '', connections = '0'] = key.split('|');
    return { scenario, upstream, connections: Number(connections), runs: results };
  });
}

/**
 * RSS before and after `memoryRequests` requests. "Before" is taken at the end of a warm-up of a
 * tenth as many requests at the same concurrency, so that both figures are of a heap at its
 * working size under this load: growth then means memory kept, not V8 sizing its heap back up.
 */
async function runMemory(
  scenario: string,
  server: Child,
  url: string,
  headers: Record<string, string>,
): Promise<MemoryResult> {
  await runLoad({ url, connections: 50, amount: SETTINGS.memoryRequests / 10, headers });
  const before = server.rss();
  const load = await measureLoad({ url, connections: 50, amount: SETTINGS.memoryRequests, headers }, server);
  if (load.failures > 0) throw new Error(`memory run: ${load.failures} failed requests`);
  const after = server.rss();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return {
    scenario,
    requests: load.requests,
    before,
    peak: load.peakRss,
    after,
    afterIdle: server.rss(),
    rps: load.rps,
  };
}

/** Reads the whole answer (so the connection is reused) and returns the status. */
async function status(url: string, init: RequestInit): Promise<number> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REVOCATION_LIMIT_MS) });
  await response.arrayBuffer();
  return response.status;
}

/**
 * How long a logout at one `SESSION_STORE=redis` instance takes to reach another: sign in at A,
 * check that B answers `/api/items` with 200 for that cookie, `POST /auth/logout` at A, then ask
 * B every {@link REVOCATION_POLL_MS} ms (the first time as soon as A has answered) until it
 * answers 401. Any other answer, or no 401 within {@link REVOCATION_LIMIT_MS}, aborts the run.
 */
async function runRevocation(
  a: { url: string; origin: string },
  b: { url: string },
): Promise<RevocationResult> {
  const trials: RevocationTrial[] = [];
  for (let trial = 0; trial < SETTINGS.revocations; trial++) {
    const cookie = await signIn({ origin: a.origin, loginPath: '/auth/login', sessionCookie: 'bff_session' });
    const headers = { cookie, 'x-csrf': '1' };
    const before = await status(`${b.url}/api/items`, { headers });
    if (before !== 200) throw new Error(`revocation: instance B answered ${before} before the logout`);
    const start = performance.now();
    const logout = await status(`${a.url}/auth/logout`, { method: 'POST', headers });
    const logoutMs = performance.now() - start;
    if (logout !== 200) throw new Error(`revocation: POST /auth/logout at instance A answered ${logout}`);
    let polls = 0;
    for (;;) {
      polls++;
      const answer = await status(`${b.url}/api/items`, { headers });
      const elapsed = performance.now() - start;
      if (answer === 401) {
        trials.push({ logoutMs, revokedMs: elapsed, polls });
        break;
      }
      if (answer !== 200) throw new Error(`revocation: instance B answered ${answer} after the logout`);
      if (elapsed > REVOCATION_LIMIT_MS) {
        throw new Error(
          `revocation: instance B still answered 200 ${elapsed.toFixed(0)} ms after the logout`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, REVOCATION_POLL_MS));
    }
  }
  return { pollMs: REVOCATION_POLL_MS, trials };
}

/**
 * The Apache peer's refusal without a session: `OIDCUnAuthAction 401` on `/api`, so an API call
 * with no cookie must answer 401 and reach nothing, before its figures count.
 */
async function checkApacheRefusal(origin: string): Promise<void> {
  // As a browser navigation (node:http: fetch always sends `Sec-Fetch-Mode: cors`), which
  // mod_auth_openidc would otherwise redirect to the IdP: the 401 is the /api setting's.
  const status = await new Promise<number | undefined>((resolve, reject) => {
    http
      .get(
        `${origin}/api/echo`,
        { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } },
        (res) => {
          res.resume().once('end', () => resolve(res.statusCode));
        },
      )
      .once('error', reject);
  });
  if (status !== 401) throw new Error(`${APACHE_PEER}: /api/echo without a session answered ${status}`);
}

/** The last tracked RESULTS.md's figures, read before this run can overwrite it; undefined without one. */
function readBaseline(): Baseline | undefined {
  if (!existsSync(TRACKED_RESULTS)) return undefined;
  return parseBaseline(readFileSync(TRACKED_RESULTS, 'utf8'));
}

/**
 * Token-endpoint requests with `grant_type=client_credentials` the embedded IdP has seen, granted
 * or refused: only the client-token BFF makes them.
 */
function clientCredentialsCalls(stack: Stack): number {
  const { tokenGrants, tokenErrors } = stack.idp.events;
  return (
    tokenGrants.filter((grant) => grant.grantType === 'client_credentials').length +
    tokenErrors.filter((error) => error.grantType === 'client_credentials').length
  );
}

/**
 * WebSockets: sessions for {@link WS_SOCKETS_PER_SESSION} sockets each, signed in through the BFF;
 * a BFF with a WebSocket route to the ws upstream, checked (a bearer of the session's user, no
 * cookie, on the upstream's handshake); then the same sockets and messages straight to the ws
 * upstream, and through that BFF.
 */
async function runWebSockets(stack: Stack): Promise<WebSocketResults> {
  const sessions = Math.ceil(SETTINGS.wsSockets / WS_SOCKETS_PER_SESSION);
  const cookies: string[] = [];
  for (let i = 0; i < sessions; i++) {
    cookies.push(
      await signIn({ origin: stack.bffOrigin, loginPath: '/auth/login', sessionCookie: 'bff_session' }),
    );
  }
  const cookieOf = (index: number) => cookies[index % sessions]!;
  const bff = await stack.startExtraBff({
    logLevel: 'info',
    routes: webSocketRoutes(stack.upstreamUrl, stack.wsUpstreamUrl),
  });
  try {
    // A WebSocket handshake must come from the app: `Origin` is the BFF's public origin.
    const origin = stack.bffOrigin;
    const viaBff = `${bff.url.replace(/^http:/, 'ws:')}${WEBSOCKET_PREFIX}`;
    const http = await fetch(`${bff.url}/api/echo`, { headers: { cookie: cookieOf(0), 'x-csrf': '1' } });
    const httpEcho = (await http.json()) as { headers?: Record<string, string> };
    if (http.status !== 200) throw new Error(`websocket BFF: /api/echo answered ${http.status}`);
    const httpSub = jwtClaims(httpEcho.headers?.authorization?.slice('Bearer '.length) ?? '').sub;
    const handshake = JSON.parse(
      await firstMessage(`${viaBff}/handshake`, { cookie: cookieOf(0), origin }),
    ) as { headers?: Record<string, string> };
    const authorization = handshake.headers?.authorization ?? '';
    const check = {
      bearer: authorization.startsWith('Bearer '),
      cookieForwarded: handshake.headers?.cookie !== undefined,
      sameSubAsHttp:
        httpSub !== undefined && jwtClaims(authorization.slice('Bearer '.length)).sub === httpSub,
    };
    if (!check.bearer || check.cookieForwarded || !check.sameSubAsHttp) {
      throw new Error(`websocket BFF: the upstream handshake carried ${JSON.stringify(check)}`);
    }

    const direct: SocketTarget = {
      url: `${stack.wsUpstreamUrl.replace(/^http:/, 'ws:')}/echo`,
      headers: () => ({}),
    };
    const throughBff: SocketTarget = {
      url: `${viaBff}/echo`,
      headers: (index) => ({ cookie: cookieOf(index), origin }),
    };
    await warmUpSockets(direct, SETTINGS.wsWarmupSockets);
    await warmUpSockets(throughBff, SETTINGS.wsWarmupSockets);
    // The BFF counts a socket against its session until both of its sides have closed.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const options = {
      sockets: SETTINGS.wsSockets,
      intervalMs: SETTINGS.wsIntervalMs,
      windowS: SETTINGS.wsWindowS,
      openConcurrency: 50,
    };
    const describe = (name: string, run: Awaited<ReturnType<typeof measureWebSockets>>) =>
      log(
        `websockets ${name}: ${run.sockets} open in ${(run.openMs / 1000).toFixed(2)} s, ` +
          `RSS ${((run.server.rssOpen - run.server.rssBefore) / 1024 / run.sockets).toFixed(1)} KB/socket, ` +
          `${run.sent}/${run.received} messages in ${(run.windowMs / 1000).toFixed(1)} s, ` +
          `${((run.server.windowCpuMs * 1000) / (run.sent + run.received)).toFixed(1)} µs CPU/message` +
          (run.upstream
            ? ` (upstream ${((run.upstream.windowCpuMs * 1000) / (run.sent + run.received)).toFixed(1)} µs)`
            : ''),
      );
    const directRun = await measureWebSockets(direct, { server: stack.wsUpstream }, options);
    describe('direct', directRun);
    const bffRun = await measureWebSockets(
      throughBff,
      { server: bff.child, upstream: stack.wsUpstream },
      options,
    );
    describe('through the BFF', bffRun);
    return {
      sessions,
      perSessionLimit: WS_SOCKETS_PER_SESSION,
      check,
      direct: directRun,
      bff: bffRun,
    };
  } finally {
    await bff.child.stop();
  }
}

/** An app whose logins are measured: its process (or Apache's tree) and how to sign in to it. */
interface LoginApp {
  readonly name: string;
  readonly server: Child;
  readonly login: AppLogin;
}

/**
 * Full sign-ins through each app: first in a cold process (V8 still compiling the login path,
 * bench/FINDINGS.md §11), then in the same process warmed up by a few hundred more logins.
 */
async function runLogins(stack: Stack): Promise<LoginResult[]> {
  const apps: LoginApp[] = [
    {
      name: 'bff',
      server: stack.bff,
      login: { origin: stack.bffOrigin, loginPath: '/auth/login', sessionCookie: 'bff_session' },
    },
    {
      name: 'express alternative',
      server: stack.express,
      login: { origin: stack.expressOrigin, loginPath: '/login', sessionCookie: 'appSession' },
    },
    ...(stack.apache.running
      ? [
          {
            name: stack.apache.child.name,
            server: stack.apache.child,
            login: {
              origin: stack.apache.origin,
              loginPath: APACHE_LOGIN_PATH,
              sessionCookie: APACHE_SESSION_COOKIE,
            },
          },
        ]
      : []),
  ];
  const cold = await measureColdLogins(apps);
  log(
    `logins, warm: ${SETTINGS.warmupLogins} more through each app, then ${SETTINGS.warmLogins} measured, ` +
      `${SETTINGS.warmLoginConcurrency} at a time`,
  );
  const warm = await measureWarmLogins(apps);
  return cold.map((figures, index) => ({ ...figures, warm: warm[index] }));
}

/** One at a time, alternating between the apps login by login so all see the same machine state. */
async function measureColdLogins(apps: readonly LoginApp[]): Promise<LoginResult[]> {
  const totals = apps.map(() => ({ cpuMs: 0, wallMs: 0 }));
  for (const app of apps) await signIn(app.login); // warm-up: JIT and the IdP's first-use paths
  for (let i = 0; i < SETTINGS.logins; i++) {
    for (const [index, app] of apps.entries()) {
      const cpu = app.server.cpuMs();
      const start = performance.now();
      await signIn(app.login);
      totals[index]!.wallMs += performance.now() - start;
      totals[index]!.cpuMs += app.server.cpuMs() - cpu;
    }
  }
  return apps.map((app, index) => ({
    app: app.name,
    logins: SETTINGS.logins,
    perSecond: SETTINGS.logins / (totals[index]!.wallMs / 1000),
    cpuMsPerLogin: totals[index]!.cpuMs / SETTINGS.logins,
  }));
}

/**
 * The same processes after the warm-up logins: the measured logins in rounds, the apps' order
 * rotating each round, so that all see the same machine state; CPU from the same counters as
 * the cold logins, summed over an app's rounds.
 */
async function measureWarmLogins(apps: readonly LoginApp[]): Promise<WarmLogins[]> {
  const concurrency = SETTINGS.warmLoginConcurrency;
  const rounds = SETTINGS.warmLoginRounds;
  const perRound = Math.ceil(SETTINGS.warmLogins / rounds);
  for (const app of apps) await signInConcurrently(app.login, SETTINGS.warmupLogins, concurrency);
  const totals = apps.map(() => ({ cpuMs: 0, wallMs: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < apps.length; k++) {
      const index = (k + round) % apps.length;
      const app = apps[index]!;
      const cpu = app.server.cpuMs();
      const start = performance.now();
      await signInConcurrently(app.login, perRound, concurrency);
      totals[index]!.wallMs += performance.now() - start;
      totals[index]!.cpuMs += app.server.cpuMs() - cpu;
    }
  }
  const logins = perRound * rounds;
  return totals.map(({ cpuMs, wallMs }) => ({
    warmupLogins: SETTINGS.warmupLogins,
    concurrency,
    rounds,
    logins,
    perSecond: logins / (wallMs / 1000),
    cpuMsPerLogin: cpuMs / logins,
  }));
}

/** A process started with the given `node` flags, and what to run against it once warm. */
interface ProfileJob {
  readonly name: string;
  readonly start: (flags: readonly string[]) => Promise<{ child: Child; url: string }>;
  readonly warmUp: (url: string) => Promise<void>;
  readonly work: (url: string) => Promise<void>;
}

/** Profiles a fresh process (`node --cpu-prof`) during `work`; start-up and warm-up are left out. */
async function profile({
  name,
  start,
  warmUp,
  work,
}: ProfileJob): Promise<{ name: string; summary: ProfileSummary }> {
  const dir = `${PROFILE_DIR}${name.replace(/\W+/g, '-')}`;
  mkdirSync(dir, { recursive: true });
  const { child, url } = await start(['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250']);
  let skipMs = 0;
  try {
    await warmUp(url);
    skipMs = performance.now() - child.startedAt;
    await work(url);
  } finally {
    await child.stop();
  }
  const file = newestProfile(dir);
  if (!file) throw new Error(`no profile written in ${dir}`);
  return { name, summary: summarizeProfile(file, { skipMs }) };
}

function profileJobs(
  stack: Stack,
  bffHeaders: Record<string, string>,
  expressHeaders: Record<string, string>,
): ProfileJob[] {
  const proxy = (headers: Record<string, string>) => ({
    warmUp: (url: string) =>
      runLoad({ url: `${url}/api/items`, connections: 50, durationS: 1, headers }).then(() => undefined),
    work: (url: string) =>
      runLoad({ url: `${url}/api/items`, connections: 50, durationS: SETTINGS.profileS, headers }).then(
        () => undefined,
      ),
  });
  const logins = (loginPath: string, sessionCookie: string) => ({
    warmUp: async (origin: string) => {
      for (let i = 0; i < 3; i++) await signIn({ origin, loginPath, sessionCookie });
    },
    work: async (origin: string) => {
      for (let i = 0; i < SETTINGS.logins; i++) await signIn({ origin, loginPath, sessionCookie });
    },
  });
  const local = (origin: string) => origin.replace('localhost', '127.0.0.1');
  return [
    {
      name: 'bff, /api at 50 connections',
      start: async (flags) => ({
        child: await stack.restartBff({ logLevel: 'warn', nodeFlags: flags }),
        url: local(stack.bffOrigin),
      }),
      ...proxy(bffHeaders),
    },
    {
      name: 'bare node:http proxy at 50 connections',
      start: (flags) => stack.startExtraBare(flags),
      // Sent the BFF's headers, as in the matrix.
      ...proxy(bffHeaders),
    },
    {
      name: 'express alternative, /api at 50 connections',
      start: async (flags) => ({ child: await stack.restartExpress(flags), url: local(stack.expressOrigin) }),
      ...proxy(expressHeaders),
    },
    // Sign-ins must reach the port of the registered redirect URI: hence restart, not an extra process.
    {
      name: 'bff, logins',
      start: async (flags) => ({
        child: await stack.restartBff({ logLevel: 'warn', nodeFlags: flags }),
        url: stack.bffOrigin,
      }),
      ...logins('/auth/login', 'bff_session'),
    },
    {
      name: 'express alternative, logins',
      start: async (flags) => ({ child: await stack.restartExpress(flags), url: stack.expressOrigin }),
      ...logins('/login', 'appSession'),
    },
  ];
}

async function main() {
  const started = performance.now();
  const loadAvgStart = os.loadavg()[0] ?? 0;
  log(`${QUICK ? 'quick' : 'full'} run: building the BFF, the SPA and the bench servers`);
  const baseline = readBaseline();
  // Read now so that a malformed file stops the run before it starts, not after 13 minutes.
  const runHistory = readRunHistory();
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  await buildAll();
  const spa = measureSpaSize();

  log('starting the IdP, upstream, bare proxy, BFF, express alternative and redis-server');
  const stack = await startStack();
  try {
    const bffCookie = await signIn({
      origin: stack.bffOrigin,
      loginPath: '/auth/login',
      sessionCookie: 'bff_session',
    });
    const expressCookie = await signIn({
      origin: stack.expressOrigin,
      loginPath: '/login',
      sessionCookie: 'appSession',
    });
    const bffHeaders = { cookie: bffCookie, 'x-csrf': '1' };
    const expressHeaders = { cookie: expressCookie, 'x-csrf': '1' };
    const { apache } = stack;
    if (apache.running) {
      await checkApacheRefusal(apache.origin);
      log(`apache peer: ${apache.version}; /api without a session answers 401`);
    } else {
      log(`apache peer skipped: ${apache.reason}`);
    }
    // mod_auth_openidc refuses a session cookie played against another host than it was issued
    // for (localhost), so this peer is reached at its origin, not at 127.0.0.1.
    const apacheCookie = apache.running
      ? await signIn({
          origin: apache.origin,
          loginPath: APACHE_LOGIN_PATH,
          sessionCookie: APACHE_SESSION_COOKIE,
        })
      : '';
    const bffInfo = await stack.startExtraBff({ logLevel: 'info' });
    const bffUrl = stack.bffOrigin.replace('localhost', '127.0.0.1');
    // Production defaults but for the store: LOG_LEVEL=info, like the cookie-store BFF it is compared with.
    const bffRedis = await stack.startRedisBff(0, { logLevel: 'info' });
    const bffRedisCookie = await signIn({
      origin: bffRedis.origin,
      loginPath: '/auth/login',
      sessionCookie: 'bff_session',
    });
    const bffRedisHeaders = { cookie: bffRedisCookie, 'x-csrf': '1' };
    // Operations and DPoP: the production defaults (LOG_LEVEL=info, cookie store) plus one setting each.
    const metricsPort = await freePort();
    const bffMetrics = await stack.startExtraBff({
      logLevel: 'info',
      env: { METRICS_PORT: String(metricsPort) },
    });
    const otlp = await startOtlpReceiver();
    const bffTracing = await stack.startExtraBff({
      logLevel: 'info',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
    });
    // The same, sampling 10 % of requests as production would (the SDK reads both variables); its
    // own receiver, so that its span count shows the sampler at work.
    const otlpSampled = await startOtlpReceiver();
    const bffTracingSampled = await stack.startExtraBff({
      logLevel: 'info',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpSampled.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: String(TRACES_SAMPLED_RATIO),
      },
    });
    const bffDpop = await stack.startDpopBff({ logLevel: 'info' });
    const bffDpopCookie = await signIn({
      origin: bffDpop.origin,
      loginPath: '/auth/login',
      sessionCookie: 'bff_session',
    });
    const bffDpopHeaders = { cookie: bffDpopCookie, 'x-csrf': '1' };
    // Routed APIs: the production defaults with `API_ROUTES` instead of `API_UPSTREAM_URL`.
    const tenRouteTable = tenRoutes(stack.upstreamUrl);
    const bffTenRoutes = await stack.startExtraBff({ logLevel: 'info', routes: tenRouteTable });
    const idpCallsBeforeClientBff = clientCredentialsCalls(stack);
    const bffClientToken = await stack.startExtraBff({
      logLevel: 'info',
      routes: clientTokenRoutes(stack.upstreamUrl),
    });

    const scenarios: Scenario[] = [
      { name: 'direct', server: stack.upstream, url: (p) => `${stack.upstreamUrl}${p}`, headers: {} },
      // Sent the BFF's own request headers (the session cookie, X-CSRF), which it forwards as they
      // are: the cost floor of a hop that parses and forwards the same bytes.
      { name: BARE, server: stack.bare, url: (p) => `${stack.bareUrl}/api${p}`, headers: bffHeaders },
      // As measured before it was sent the cookie: the old comparison, in one cell.
      {
        name: BARE_NO_COOKIE,
        server: stack.bare,
        url: (p) => `${stack.bareUrl}/api${p}`,
        headers: {},
        only: (connections, upstream) => upstream === 'fast' && connections === 50,
      },
      { name: 'bff', server: stack.bff, url: (p) => `${bffUrl}/api${p}`, headers: bffHeaders },
      {
        name: BFF_DEFAULTS,
        server: bffInfo.child,
        url: (p) => `${bffInfo.url}/api${p}`,
        headers: bffHeaders,
        only: (connections) => connections !== 10,
      },
      {
        name: BFF_TEN_ROUTES,
        server: bffTenRoutes.child,
        url: (p) => `${bffTenRoutes.url}/api${p}`,
        headers: bffHeaders,
        only: OPS_CELLS,
      },
      {
        name: BFF_CLIENT_TOKEN,
        server: bffClientToken.child,
        url: (p) => `${bffClientToken.url}/api${p}`,
        headers: bffHeaders,
        only: OPS_CELLS,
        clientToken: { clientId: DEV_IDP.clientId, scope: CLIENT_ROUTE_SCOPE },
      },
      {
        name: 'bff, SESSION_STORE=redis',
        server: bffRedis.child,
        url: (p) => `${bffRedis.url}/api${p}`,
        headers: bffRedisHeaders,
        only: (connections) => connections !== 10,
        store: stack.redis,
      },
      {
        name: BFF_METRICS,
        server: bffMetrics.child,
        url: (p) => `${bffMetrics.url}/api${p}`,
        headers: bffHeaders,
        only: OPS_CELLS,
      },
      {
        name: BFF_TRACING,
        server: bffTracing.child,
        url: (p) => `${bffTracing.url}/api${p}`,
        headers: bffHeaders,
        only: OPS_CELLS,
        traces: true,
      },
      {
        name: BFF_TRACING_SAMPLED,
        server: bffTracingSampled.child,
        url: (p) => `${bffTracingSampled.url}/api${p}`,
        headers: bffHeaders,
        only: OPS_CELLS,
        // Every request passes its trace context on, sampled or not (flag 00: the API drops it too).
        traces: true,
      },
      {
        name: BFF_DPOP,
        server: bffDpop.child,
        url: (p) => `${bffDpop.url}/api${p}`,
        headers: bffDpopHeaders,
        only: OPS_CELLS,
        scheme: 'DPoP',
      },
      {
        name: 'express alternative',
        server: stack.express,
        url: (p) => `${stack.expressOrigin.replace('localhost', '127.0.0.1')}/api${p}`,
        headers: expressHeaders,
      },
      ...(apache.running
        ? [
            {
              name: apache.child.name,
              server: apache.child,
              url: (p: string) => `${apache.origin}/api${p}`,
              headers: { cookie: apacheCookie, 'x-csrf': '1' },
            },
          ]
        : []),
    ];
    const { dpop, clientToken } = await checkForwarding(scenarios, stack.upstreamUrl);
    // 2xx answers per scenario outside the matrix (the /echo check, the warm-up), for the span count.
    const answeredOutside = new Map(scenarios.map((scenario) => [scenario.name, 1]));

    log('warming up');
    for (const scenario of scenarios) {
      const warmUp = await runLoad({
        url: scenario.url('/items'),
        connections: 10,
        durationS: SETTINGS.warmupS,
        headers: scenario.headers,
      });
      answeredOutside.set(scenario.name, (answeredOutside.get(scenario.name) ?? 0) + warmUp.requests);
    }
    const servers = [
      stack.upstream,
      stack.wsUpstream,
      stack.bare,
      stack.bff,
      bffInfo.child,
      bffTenRoutes.child,
      bffClientToken.child,
      bffRedis.child,
      stack.redis,
      bffMetrics.child,
      bffTracing.child,
      bffTracingSampled.child,
      bffDpop.child,
      stack.express,
      ...(apache.running ? [apache.child] : []),
    ];
    const serversCpuStart = servers.map((server) => server.cpuMs());
    const machineStart = machineBusyMs();
    const loadGenCpuStart = process.cpuUsage();
    const matrixStart = performance.now();
    const idpCallsBeforeMatrix = clientCredentialsCalls(stack);
    const cells = await runMatrix(scenarios);
    const idpCallsAfterMatrix = clientCredentialsCalls(stack);
    const loadGenCpu = process.cpuUsage(loadGenCpuStart);
    const matrixS = (performance.now() - matrixStart) / 1000;
    const oursMs =
      (loadGenCpu.user + loadGenCpu.system) / 1000 +
      servers.reduce((sum, server, i) => sum + server.cpuMs() - (serversCpuStart[i] ?? 0), 0);
    const othersCpuShare =
      Math.max(0, machineBusyMs() - machineStart - oursMs) / (matrixS * 1000 * os.cpus().length);

    const answeredInMatrix = (name: string) =>
      cells
        .filter((c) => c.scenario === name)
        .reduce((sum, c) => sum + c.runs.reduce((n, r) => n + r.requests, 0), 0);
    // Metrics really were on: the BFF counted at least every 2xx /api answer the bench counted.
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const metricsAnswered = answeredInMatrix(BFF_METRICS) + (answeredOutside.get(BFF_METRICS) ?? 0);
    const apiCount2xx = await scrapeApi2xxCount(metricsUrl);
    if (!(apiCount2xx >= metricsAnswered)) {
      throw new Error(
        `${BFF_METRICS}: /metrics counts ${apiCount2xx} 2xx /api answers, the bench ${metricsAnswered}`,
      );
    }
    log(
      `${BFF_METRICS}: /metrics counts ${apiCount2xx} 2xx /api answers (the bench counted ${metricsAnswered})`,
    );
    // Traces really were exported: SIGTERM flushes the batch of spans still pending, then count.
    await Promise.all([
      bffMetrics.child.stop(),
      bffTracing.child.stop(),
      bffTracingSampled.child.stop(),
      bffDpop.child.stop(),
      bffTenRoutes.child.stop(),
      bffClientToken.child.stop(),
    ]);
    // The client token was asked for once and reused: the IdP's count over the process's life.
    if (!clientToken) throw new Error(`${BFF_CLIENT_TOKEN}: its /echo check did not run`);
    const clientTokenCheck: ClientTokenCheck = {
      ...clientToken,
      idpCalls: idpCallsAfterMatrix - idpCallsBeforeClientBff,
      idpCallsInMatrix: idpCallsAfterMatrix - idpCallsBeforeMatrix,
      answered: answeredInMatrix(BFF_CLIENT_TOKEN) + (answeredOutside.get(BFF_CLIENT_TOKEN) ?? 0),
    };
    if (clientTokenCheck.idpCalls < 1 || clientTokenCheck.idpCalls > CLIENT_TOKEN_MAX_IDP_CALLS) {
      throw new Error(
        `${BFF_CLIENT_TOKEN}: ${clientTokenCheck.idpCalls} client_credentials requests at the IdP ` +
          `for ${clientTokenCheck.answered} /api answers`,
      );
    }
    log(
      `${BFF_CLIENT_TOKEN}: ${clientTokenCheck.idpCalls} client_credentials request(s) at the IdP ` +
        `(${clientTokenCheck.idpCallsInMatrix} during the matrix) for ${clientTokenCheck.answered} /api answers`,
    );
    const loadRouteAt = tenRouteTable.findIndex((route) => route.name === TEN_ROUTES_LOAD_ROUTE);
    const tenRoutesInfo: TenRoutesInfo = {
      prefixes: tenRouteTable.map((route) => route.prefix),
      loadPrefix: tenRouteTable[loadRouteAt]?.prefix ?? '',
      listPosition: loadRouteAt + 1,
      prefixesTried: prefixesTried(tenRouteTable, '/api/items'),
    };
    const sampledSpans = otlpSampled.stats();
    await otlpSampled.close();
    const sampledAnswered =
      answeredInMatrix(BFF_TRACING_SAMPLED) + (answeredOutside.get(BFF_TRACING_SAMPLED) ?? 0);
    // The sampler really was in effect: some requests traced, far fewer than all.
    const sampledShare = sampledSpans.serverSpans / sampledAnswered;
    if (!(sampledShare > 0 && sampledShare < 2 * TRACES_SAMPLED_RATIO)) {
      throw new Error(
        `${BFF_TRACING_SAMPLED}: ${sampledSpans.serverSpans} server spans for ${sampledAnswered} answers`,
      );
    }
    log(
      `${BFF_TRACING_SAMPLED}: ${sampledSpans.serverSpans} server spans for ${sampledAnswered} /api answers ` +
        `(${(sampledShare * 100).toFixed(1)} %)`,
    );
    const spans = otlp.stats();
    await otlp.close();
    const tracingAnswered = answeredInMatrix(BFF_TRACING) + (answeredOutside.get(BFF_TRACING) ?? 0);
    if (spans.exports === 0 || spans.spans === 0) throw new Error(`${BFF_TRACING}: no spans were exported`);
    log(
      `${BFF_TRACING}: ${spans.spans} spans (${spans.serverSpans} server, ${spans.clientSpans} client) ` +
        `in ${spans.exports} exports for ${tracingAnswered} /api answers`,
    );
    const ops: OpsChecks = {
      metrics: { apiCount2xx, answered2xx: metricsAnswered },
      tracing: { ...spans, answered: tracingAnswered },
      tracingSampled: { ...sampledSpans, answered: sampledAnswered, ratio: TRACES_SAMPLED_RATIO },
      ...(dpop ? { dpop } : {}),
    };

    log(`revocation: ${SETTINGS.revocations} logouts at one SESSION_STORE=redis instance, seen from another`);
    const bffRedisB = await stack.startRedisBff(1, { logLevel: 'info' });
    const revocation = await runRevocation(bffRedis, bffRedisB);
    await Promise.all([bffRedis.child.stop(), bffRedisB.child.stop()]);

    // The production defaults (`pnpm start` as is: LOG_LEVEL=info, cookie store).
    log(`memory: ${SETTINGS.memoryRequests} requests through the BFF (LOG_LEVEL=info)`);
    const memory = await runMemory(BFF_DEFAULTS, bffInfo.child, `${bffInfo.url}/api/items`, bffHeaders);
    await bffInfo.child.stop();

    log(
      `websockets: ${SETTINGS.wsSockets} sockets for ${SETTINGS.wsWindowS} s, straight to the ws upstream and through a BFF`,
    );
    const webSockets = await runWebSockets(stack);

    log(`logins, cold: ${SETTINGS.logins} through each app, one at a time`);
    const logins = await runLogins(stack);

    const profiles: { name: string; summary: ProfileSummary }[] = [];
    if (SETTINGS.profileS > 0) {
      log('profiling the BFF, the bare proxy and the express alternative (--cpu-prof)');
      for (const job of profileJobs(stack, bffHeaders, expressHeaders)) profiles.push(await profile(job));
    }

    const revision = gitRevision();
    const report: RunReport = {
      quick: QUICK,
      date: new Date(),
      settings: SETTINGS,
      cells,
      memory,
      revocation,
      ops,
      logins,
      apache: apache.running ? { version: apache.version } : { skipped: apache.reason },
      routes: {
        ...(baseline ? { baseline } : {}),
        cookieBytes: bffCookie.length,
        tenRoutes: tenRoutesInfo,
        clientToken: clientTokenCheck,
        webSockets,
      },
      spa,
      profiles,
      loadGenCpuShare: (loadGenCpu.user + loadGenCpu.system) / 1000 / (matrixS * 1000),
      othersCpuShare,
      revision: revision.text,
      elapsedS: (performance.now() - started) / 1000,
      loadAvg: [loadAvgStart, os.loadavg()[0] ?? 0],
    };
    mkdirSync(BENCH_DIST, { recursive: true });
    writeFileSync(`${BENCH_DIST}results.json`, JSON.stringify(report, null, 2));
    // Quick runs are smoke figures: they show the recorded runs but never join them.
    const history = QUICK ? runHistory : recordRun(runHistory, report, revision);
    writeFileSync(OUT_FILE, renderResults(report, history));
    log(`wrote ${OUT_FILE} in ${report.elapsedS.toFixed(0)} s`);
  } finally {
    await stack.stop();
  }
}

/** `--render`: rewrites the report from the last run's raw figures, e.g. after changing report.ts. */
function renderOnly() {
  const report = parseReport(readFileSync(`${BENCH_DIST}results.json`, 'utf8'));
  const file = fileURLToPath(new URL(report.quick ? './RESULTS.quick.md' : './RESULTS.md', import.meta.url));
  // The recorded runs as they are: a full run appended its own record when it ran.
  writeFileSync(file, renderResults(report, readRunHistory()));
  log(`rewrote ${file} from ${BENCH_DIST}results.json`);
}

(process.argv.includes('--render') ? Promise.resolve().then(renderOnly) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
