/** Turns one run's measurements into `bench/RESULTS.md`: the figures, the targets and the machine. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { APACHE_PEER } from './apache-openidc.ts';
import type { MeasuredLoad } from './load.ts';
import type { OtlpStats } from './otlp-receiver.ts';
import type { ProfileSummary } from './profile.ts';
import { APACHE_SETUP_NOTE, type ApacheRun, apacheSection } from './report-apache.ts';
import {
  BFF_DEFAULTS,
  BFF_DPOP,
  BFF_METRICS,
  BFF_REDIS,
  BFF_TRACING,
  BFF_TRACING_SAMPLED,
  BFF_WARN,
  cellLookup,
  fixed,
  mb,
  median,
  nan,
  summarize,
} from './report-cells.ts';
import { type LoginResult, loginsSection } from './report-logins.ts';
import { opsSection } from './report-ops.ts';
import {
  BARE_NO_COOKIE,
  BFF_CLIENT_TOKEN,
  BFF_TEN_ROUTES,
  ROUTES_SETUP_NOTES,
  type RoutesRun,
  routesSection,
  webSocketSection,
} from './report-routes.ts';
import { targetRows } from './report-targets.ts';
import { acrossRunsSection, type RunRecord } from './run-history.ts';
import type { SpaSize } from './spa-size.ts';
import { renderTargetRow } from './targets.ts';

// run.ts imports the scenario names and the Targets rows from here.
export { BFF_DEFAULTS, BFF_DPOP, BFF_METRICS, BFF_TRACING, BFF_TRACING_SAMPLED } from './report-cells.ts';
export { targetRows } from './report-targets.ts';

export interface Cell {
  readonly scenario: string;
  readonly upstream: string;
  readonly connections: number;
  readonly runs: readonly MeasuredLoad[];
}

export interface MemoryResult {
  /** The scenario whose process was measured (absent in runs before it was recorded: `bff`). */
  readonly scenario?: string;
  readonly requests: number;
  readonly before: number;
  readonly peak: number;
  readonly after: number;
  readonly afterIdle: number;
  readonly rps: number;
}

/** One logout at `SESSION_STORE=redis` instance A, watched from instance B. */
export interface RevocationTrial {
  /** From sending `POST /auth/logout` to A until A answered. */
  readonly logoutMs: number;
  /** From sending the logout to A until B answered 401. */
  readonly revokedMs: number;
  /** Requests B answered after the logout, the 401 included. */
  readonly polls: number;
}

export interface RevocationResult {
  /** Interval between two requests to B. */
  readonly pollMs: number;
  readonly trials: readonly RevocationTrial[];
}

/** What the upstream's `/echo` received from the `API_TOKEN_TYPE=dpop` BFF, checked once before measuring. */
export interface DpopCheck {
  /** The proof's JOSE header: `dpop+jwt`, `ES256`. */
  readonly typ: string;
  readonly alg: string;
  /** The proof's `htm` and `htu`: the upstream request's method and URL. */
  readonly htm: string;
  readonly htu: string;
  /** Verified against the `jwk` in the proof's header. */
  readonly signatureValid: boolean;
  /** `ath` is the SHA-256 of the access token sent as `Authorization: DPoP …`. */
  readonly athMatches: boolean;
  /** The access token's `cnf.jkt` is the proof key's thumbprint; absent for an opaque token. */
  readonly tokenBound?: boolean;
}

/** Evidence that each operations setting really was in effect during the matrix. */
export interface OpsChecks {
  /** `bff + metrics`: its `/metrics` once after the matrix. */
  readonly metrics?: {
    /** `bff_http_request_duration_seconds_count{group="api",status_class="2xx"}`. */
    readonly apiCount2xx: number;
    /** 2xx `/api` answers the bench counted from it (check, warm-up and matrix). */
    readonly answered2xx: number;
  };
  /** `bff + tracing`: what the bench's OTLP receiver got, once the BFF had flushed at SIGTERM. */
  readonly tracing?: OtlpStats & {
    /** 2xx `/api` answers the bench counted from it (check, warm-up and matrix). */
    readonly answered: number;
  };
  /** `bff + tracing, 10 % sampled`: the same, from its own receiver; absent in earlier runs. */
  readonly tracingSampled?: OtlpStats & {
    readonly answered: number;
    /** `OTEL_TRACES_SAMPLER_ARG`. */
    readonly ratio: number;
  };
  readonly dpop?: DpopCheck;
}

export interface RunReport {
  readonly quick: boolean;
  readonly date: Date;
  readonly settings: Readonly<Record<string, number>>;
  readonly cells: readonly Cell[];
  readonly memory: MemoryResult;
  /** Absent in runs before Redis sessions were measured. */
  readonly revocation?: RevocationResult;
  /** Absent in runs before the metrics, tracing and DPoP scenarios were measured. */
  readonly ops?: OpsChecks;
  readonly logins: readonly LoginResult[];
  /** The Apache peer's version, or why it was skipped; absent in runs before it existed. */
  readonly apache?: ApacheRun;
  /**
   * The routed-API scenarios' evidence and the last tracked run's figures (10 routes, client
   * token, WebSockets); absent in runs before they existed.
   */
  readonly routes?: RoutesRun;
  readonly spa: SpaSize;
  readonly profiles: readonly { name: string; summary: ProfileSummary }[];
  /** CPU the load generator (this process) used, as a share of one core, during the matrix. */
  readonly loadGenCpuShare: number;
  readonly elapsedS: number;
  /** CPU used by processes other than the benchmark's during the matrix, as a share of all cores. */
  readonly othersCpuShare: number;
  /** Commit measured. */
  readonly revision: string;
  /** 1-minute load average at the start and at the end of the run. */
  readonly loadAvg: readonly [number, number];
}

function machineNote(report: RunReport): string[] {
  const cpus = os.cpus();
  let kernel = os.release();
  try {
    kernel = execFileSync('uname', ['-srm'], { encoding: 'utf8' }).trim();
  } catch (error) {
    // uname is informative only; os.release() is a fine fallback.
    void error;
  }
  return [
    `- ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${fixed(os.totalmem() / 1024 ** 3, 1)} GiB RAM, ${kernel}, Node ${process.version}.`,
    '- Everything runs on this one machine over loopback: upstream, bare proxy, BFF and express alternative each in its own process; the embedded IdP and the load generator (autocannon, programmatic API) share the orchestrator process.',
    `- The load generator competes for the same cores: during the matrix it used ${fixed(report.loadGenCpuShare * 100, 0)} % of one core on average, so every absolute figure here is lower than the servers alone could do; ratios between scenarios are the meaningful part.`,
    `- Other processes on the machine (not the benchmark's) used ${fixed(report.othersCpuShare * 100, 0)} % of its total CPU during the matrix${report.othersCpuShare > 0.1 ? ': a busy machine, so absolute figures are depressed and noisy; compare scenarios within this run' : ''}.`,
    `- 1-minute load average ${fixed(report.loadAvg[0], 2)} at the start, ${fixed(report.loadAvg[1], 2)} at the end (the benchmark itself keeps both cores busy; other work on the machine shows up here and in the ranges).`,
    `- ${report.settings.reps} interleaved repetition(s) of ${report.settings.durationS} s per cell (order rotated each repetition), medians shown; "range" is the min–max req/s over the repetitions.`,
  ];
}

/** Reads back `bench/dist/results.json` (dates come back as strings). */
export function parseReport(json: string): RunReport {
  const raw = JSON.parse(json) as RunReport & { date: string };
  return { ...raw, date: new Date(raw.date) };
}

export function renderResults(report: RunReport, history: readonly RunRecord[]): string {
  const get = cellLookup(report);
  const targets = targetRows(report);
  const growth = report.memory.after - report.memory.before;
  const revokedMax = Math.max(...(report.revocation?.trials.map((t) => t.revokedMs) ?? [nan]));

  const lines: string[] = [
    '# Benchmark results',
    '',
    `${report.quick ? '**Quick run** (`pnpm bench --quick`): smoke figures, not the tracked ones.' : 'Written by `pnpm bench`.'} ` +
      `${report.date.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${report.revision}, run time ${fixed(report.elapsedS / 60, 1)} min. ` +
      'Profile findings and a measured fix: [FINDINGS.md](FINDINGS.md).',
    '',
    '## Targets',
    '',
    'Tracked here, not asserted by tests. Ratios are of medians, at 50 connections on the fast upstream unless said otherwise. ' +
      `"BFF" is the production defaults, \`pnpm start\` as is: the **${BFF_DEFAULTS}** rows (one log line per request, cookie store); ` +
      `the LOG_LEVEL=warn process (**${BFF_WARN}** rows) is in brackets. The Redis store runs at LOG_LEVEL=info too, so it compares like for like. ` +
      'The login rows are judged twice, on a **cold** process and on a **warm** one (see Logins), each row on its own.',
    '',
    '| target | measured | result |',
    '|---|---|---|',
    ...targets.map(renderTargetRow),
    '',
    "The issue's reference figures for this 2-core machine, for comparison: express alternative ≈ 700 req/s at ≈ 1.3 ms CPU/request, bare node:http pipe ≈ 4 000 req/s at ≈ 0.25 ms, Hono forwarding with fetch ≈ 1 800 req/s at ≈ 0.6 ms (all at 50 connections).",
    ...acrossRunsSection(history, targets, report),
    '',
    '## Proxied requests',
    '',
    '`GET /api/items` (direct: `GET /items`), a 180-byte JSON answer; "5 ms" is the same answer after a 5 ms timer in the upstream. ' +
      'CPU/req is user + system time of the process under test (the upstream itself for "direct"), from `/proc/<pid>/stat`, divided by the 2xx answers. ' +
      "Peak RSS is the process under test. Latency percentiles are per request, from autocannon's float timings.",
    '',
    '| upstream | conns | scenario | req/s | range | p50 ms | p99 ms | CPU ms/req | peak RSS MB |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  const order = [
    'direct',
    'bare node:http proxy',
    BARE_NO_COOKIE,
    BFF_WARN,
    BFF_DEFAULTS,
    BFF_TEN_ROUTES,
    BFF_CLIENT_TOKEN,
    BFF_METRICS,
    BFF_TRACING,
    BFF_TRACING_SAMPLED,
    BFF_DPOP,
    BFF_REDIS,
    'express alternative',
    APACHE_PEER,
  ];
  const cells = [...report.cells].sort(
    (a, b) =>
      a.upstream.localeCompare(b.upstream) * -1 ||
      a.connections - b.connections ||
      order.indexOf(a.scenario) - order.indexOf(b.scenario),
  );
  for (const cell of cells) {
    const s = summarize(cell);
    const name = cell.scenario === BFF_DEFAULTS ? `**${cell.scenario}**` : cell.scenario;
    lines.push(
      `| ${cell.upstream} | ${cell.connections} | ${name} | ${fixed(s.rps, 0)} | ${fixed(s.rpsMin, 0)}–${fixed(s.rpsMax, 0)} | ${fixed(s.p50Ms, 2)} | ${fixed(s.p99Ms, 2)} | ${fixed(s.cpuMsPerRequest, 3)} | ${mb(s.peakRss)} |`,
    );
  }

  const ratioRow = (scenario: string, upstream: string, connections: number) => {
    const bff = get(scenario, upstream, connections);
    const express = get('express alternative', upstream, connections);
    const bare = get('bare node:http proxy', upstream, connections);
    const direct = get('direct', upstream, connections);
    if (!bff || !express || !bare || !direct) return undefined;
    return `| ${upstream} | ${connections} | ${scenario} | ${fixed(bff.rps / express.rps, 2)}× | ${fixed(bff.rps / bare.rps, 2)}× | ${fixed(bff.cpuMsPerRequest / bare.cpuMsPerRequest, 2)}× | ${fixed(bff.cpuMsPerRequest / express.cpuMsPerRequest, 2)}× | ${fixed(bare.p99Ms - direct.p99Ms, 2)} | ${fixed(bff.p99Ms - direct.p99Ms, 2)} | ${fixed(express.p99Ms - direct.p99Ms, 2)} |`;
  };
  lines.push(
    '',
    '### Ratios',
    '',
    "Added p99 is the scenario's p99 minus direct's in the same cell; the bare proxy's shows what one hop costs on this machine. " +
      "BFF CPU is the BFF process's alone (for the Redis store, redis-server's is in the next section).",
    '',
    '| upstream | conns | BFF | BFF/express req/s | BFF/bare req/s | BFF/bare CPU | BFF/express CPU | added p99 ms: bare | BFF | express |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const upstream of ['fast', '5 ms']) {
    for (const connections of [1, 10, 50]) {
      for (const scenario of [
        BFF_DEFAULTS,
        BFF_WARN,
        BFF_TEN_ROUTES,
        BFF_CLIENT_TOKEN,
        BFF_METRICS,
        BFF_TRACING,
        BFF_TRACING_SAMPLED,
        BFF_DPOP,
        BFF_REDIS,
      ]) {
        const row = ratioRow(scenario, upstream, connections);
        if (row) lines.push(row);
      }
    }
  }

  lines.push(
    '',
    '## Session store: cookie or Redis',
    '',
    `Both BFF processes at LOG_LEVEL=info, same build, same upstream: **${BFF_DEFAULTS}** keeps the session sealed in the cookie (the default); ` +
      `**${BFF_REDIS}** keeps it in a local \`redis-server\` (\`--save '' --appendonly no\`, loopback), the cookie holding only a handle, ` +
      'so each `/api` request makes one Redis round trip (a Lua script that checks the session and slides its idle TTL). ' +
      "redis-server CPU/req is its own utime + stime over the same run (from `/proc/<pid>/stat`, all its threads), divided by the BFF's 2xx answers: during the matrix only that BFF uses it. " +
      "Ratios are Redis over cookie; /proc counts in 10 ms ticks, so in a short run redis-server's small figure is only roughly known.",
    '',
    '| upstream | conns | req/s cookie | req/s Redis | ratio | p99 ms cookie | p99 ms Redis | BFF CPU ms/req cookie | BFF CPU ms/req Redis | ratio | redis-server CPU ms/req | BFF + redis-server CPU ms/req |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const upstream of ['fast', '5 ms']) {
    for (const connections of [1, 10, 50]) {
      const cookie = get(BFF_DEFAULTS, upstream, connections);
      const redis = get(BFF_REDIS, upstream, connections);
      if (!cookie || !redis) continue;
      lines.push(
        `| ${upstream} | ${connections} | ${fixed(cookie.rps, 0)} | ${fixed(redis.rps, 0)} | ${fixed(redis.rps / cookie.rps, 2)}× | ${fixed(cookie.p99Ms, 2)} | ${fixed(redis.p99Ms, 2)} | ${fixed(cookie.cpuMsPerRequest, 3)} | ${fixed(redis.cpuMsPerRequest, 3)} | ${fixed(redis.cpuMsPerRequest / cookie.cpuMsPerRequest, 2)}× | ${fixed(redis.storeCpuMsPerRequest, 3)} | ${fixed(redis.cpuMsPerRequest + redis.storeCpuMsPerRequest, 3)} |`,
      );
    }
  }

  const revocation = report.revocation;
  if (revocation && revocation.trials.length > 0) {
    const polls = revocation.trials.map((t) => t.polls);
    const afterLogout = revocation.trials.map((t) => t.revokedMs - t.logoutMs);
    lines.push(
      '',
      '### Logout seen by another instance',
      '',
      'Two `SESSION_STORE=redis` BFF processes (different ports, same Redis and `SESSION_SECRET`, LOG_LEVEL=info). Per logout: a full sign-in at instance A; ' +
        'B answers `GET /api/items` (`X-CSRF: 1`) with 200 for that cookie; `POST /auth/logout` (`X-CSRF: 1`, the cookie) at A; ' +
        `then B is asked the same request as soon as A has answered and every ${revocation.pollMs} ms after, until it answers 401 (any other answer, or none within 5 s, aborts the run). ` +
        '"Until B refuses" runs from sending the logout to B\'s 401.',
      '',
      "| logouts | logout at A, median / max ms | until B refuses, median / max ms | after A answered, median / max ms | B's answers after the logout, max |",
      '|---:|---:|---:|---:|---:|',
      `| ${revocation.trials.length} | ${fixed(median(revocation.trials.map((t) => t.logoutMs)), 1)} / ${fixed(Math.max(...revocation.trials.map((t) => t.logoutMs)), 1)} | ${fixed(median(revocation.trials.map((t) => t.revokedMs)), 1)} / ${fixed(revokedMax, 1)} | ${fixed(median(afterLogout), 1)} / ${fixed(Math.max(...afterLogout), 1)} | ${Math.max(...polls)} |`,
    );
  }

  lines.push(...opsSection(report, get));
  lines.push(...routesSection(report.routes ?? {}, get));
  lines.push(...webSocketSection(report.routes ?? {}));
  lines.push(...apacheSection(report.apache, report.logins, get));

  const m = report.memory;
  lines.push(
    '',
    '## BFF memory',
    '',
    `RSS of the BFF process (**${m.scenario ?? BFF_WARN}**), ${m.requests.toLocaleString('en')} requests at 50 connections (${fixed(m.rps, 0)} req/s), one session. ` +
      '"Before" is at the end of a warm-up of a tenth as many requests at the same concurrency (a heap at its working size under this load), "right after" at the end of the run: growth is memory kept, not V8 growing its heap back after an idle shrink.',
    '',
    '| before | peak during | right after | after 2 s idle | growth (after − before) |',
    '|---:|---:|---:|---:|---:|',
    `| ${mb(m.before)} MB | ${mb(m.peak)} MB | ${mb(m.after)} MB | ${mb(m.afterIdle)} MB | ${growth >= 0 ? '+' : ''}${mb(growth)} MB |`,
    ...loginsSection(report.logins),
    '',
    '## SPA size',
    '',
    '`pnpm --filter @okta-bff/web build`, every `apps/web/dist/assets/*.js` and `*.css`, gzip level 9.',
    '',
    '| | raw | gzip |',
    '|---|---:|---:|',
    `| JS | ${fixed(report.spa.jsBytes / 1000, 1)} KB | ${fixed(report.spa.jsGzipBytes / 1000, 1)} KB |`,
    `| CSS | ${fixed(report.spa.cssBytes / 1000, 1)} KB | ${fixed(report.spa.cssGzipBytes / 1000, 1)} KB |`,
  );

  if (report.profiles.length > 0) {
    lines.push(
      '',
      '## CPU profiles',
      '',
      `\`node --cpu-prof --cpu-prof-interval 250\`, a fresh process per profile, start-up and a warm-up left out: ${report.settings.profileS} s at 50 connections on the fast upstream (LOG_LEVEL=warn), or ${report.settings.logins} sign-ins. ` +
        'Shares are of the non-idle samples. V8 samples wall time on the main thread, so a frame that blocks in a syscall also collects the time the process waits for a core: on this crowded 2-core machine (a loopback write wakes the peer, which may take the core) the socket frames are inflated, while the /proc CPU figures above are exact.',
    );
    for (const { name, summary } of report.profiles) {
      lines.push(
        '',
        `### ${name} (${fixed(summary.sampledMs, 0)} ms sampled)`,
        '',
        '| share | kind of work (self time) |',
        '|---:|---|',
      );
      for (const c of summary.categories) lines.push(`| ${fixed(c.share * 100, 1)} % | ${c.frame} |`);
      lines.push(
        '',
        '| self | hottest frames | | inclusive | app and library frames |',
        '|---:|---|---|---:|---|',
      );
      for (let i = 0; i < Math.max(summary.self.length, summary.inclusive.length); i++) {
        const self = summary.self[i];
        const incl = summary.inclusive[i];
        lines.push(
          `| ${self ? `${fixed(self.share * 100, 1)} %` : ''} | ${self ? `\`${self.frame}\`` : ''} | | ${incl ? `${fixed(incl.share * 100, 1)} %` : ''} | ${incl ? `\`${incl.frame}\`` : ''} |`,
        );
      }
    }
  }

  lines.push('', '## Machine and method', '', ...machineNote(report), '', '## Setup', '', ...SETUP_NOTES, '');
  return lines.join('\n');
}

const SETUP_NOTES = [
  '- **direct**: a `node:http` server answering a fixed JSON body (its own process).',
  '- **bare node:http proxy**: `http.createServer` piping into `http.request` with a keep-alive agent, no auth, no header changes: the cost floor of one extra hop. It is sent the same `Cookie` and `X-CSRF` as the BFF scenarios and forwards them (see below).',
  '- **bff, LOG_LEVEL=info**: `apps/bff/dist/server.js` (the production build of `pnpm build`) run as `pnpm start` runs it: its node flags, `NODE_ENV` unset (production), the default log level (one JSON line per request, stdout to /dev/null) and the default cookie store; a real session from a full login at the embedded IdP, `X-CSRF: 1`. The targets are computed from it; measured at 1 and 50 connections, and the memory run is on this process. **bff** is the same build in another process with `LOG_LEVEL=warn`, measured at every cell (and used for the logins and profiles).',
  "- **bff, SESSION_STORE=redis**: the same build with `SESSION_STORE=redis` and `REDIS_URL` to the bench's own `redis-server` (Debian's, started on a free loopback port with `--save '' --appendonly no` and stopped at the end), LOG_LEVEL=info, signed in through itself (its origin is a registered redirect URI), measured where **bff, LOG_LEVEL=info** is. A second instance on another port, same Redis and secret, is started only for the logout measurement.",
  `- **${BFF_METRICS}**, **${BFF_TRACING}**, **${BFF_TRACING_SAMPLED}**, **${BFF_DPOP}**: the **bff, LOG_LEVEL=info** process (production build, \`pnpm start\`'s flags, LOG_LEVEL=info, cookie store) plus one setting each: \`METRICS_PORT\` (a free loopback port); \`OTEL_EXPORTER_OTLP_ENDPOINT\` to the bench's OTLP/HTTP receiver (\`bench/otlp-receiver.ts\`, in the orchestrator: it counts spans, discards them and answers 200 \`{}\`) with \`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\`; the same plus \`OTEL_TRACES_SAMPLER=parentbased_traceidratio\`, \`OTEL_TRACES_SAMPLER_ARG=0.1\` (a receiver of its own); \`API_TOKEN_TYPE=dpop\`, on a registered origin of its own so that it signs in through itself at the embedded IdP (default client and secret; DPoP-bound tokens). Fast upstream, 1 and 50 connections; stopped after the matrix.`,
  '- **express alternative**: express 5 + express-openid-connect 3 (code flow, `openid profile email offline_access`, library defaults: encrypted cookie session, rolling, so the cookie is re-sealed on every response) + http-proxy-middleware 3 with a keep-alive agent, `Authorization: Bearer` from `req.oidc.accessToken` (refreshed when expired), `Cookie` and `X-CSRF` removed, 401/403 like the BFF. Bundled with esbuild like the BFF, `NODE_ENV=production`, no logging.',
  APACHE_SETUP_NOTE,
  ...ROUTES_SETUP_NOTES,
  "- Before measuring, one request per scenario to the upstream's `/echo` checks that the BFF and the express alternative forward a bearer (the DPoP BFF: `DPoP` and a valid proof; the client-token BFF: a bearer whose `sub` is its client id and whose `scp` holds `items:stats`) and neither `Cookie` nor `X-CSRF`, and that only the tracing BFF forwards a `traceparent`; any non-2xx answer during a run aborts the benchmark.",
  '- The BFF keeps opened sessions in memory keyed by a hash of the sealed cookie, so with one session every request after the first skips the JWE decryption; the express alternative decrypts (and re-encrypts) its cookie on every request.',
];
