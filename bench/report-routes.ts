/**
 * The routed-API parts of RESULTS.md: the single-route BFF against the last tracked run, the
 * 10-route table, the client-token route, the bare proxy sent the BFF's cookie, and WebSockets
 * through the BFF against a direct connection.
 */
import { sideBySideTable } from './report-cells.ts';
import { judge, notMeasuredRow, type TargetRow } from './targets.ts';
import type { WebSocketRun } from './websockets.ts';

/** A BFF with `API_ROUTES` of ten routes, the load on the one its lookup reaches last. */
export const BFF_TEN_ROUTES = 'bff, 10 routes';
/** A BFF whose one route (`/api`) carries its own client-credentials token. */
export const BFF_CLIENT_TOKEN = 'bff, client-token route';
/** The bare proxy sent the BFF's cookie and `X-CSRF` (like for like); and without them, as before. */
export const BARE = 'bare node:http proxy';
export const BARE_NO_COOKIE = 'bare node:http proxy, no cookie';
/** The production-defaults BFF every routed scenario is compared with. */
const BFF_DEFAULTS = 'bff, LOG_LEVEL=info';

/**
 * Within noise of the last run: ±20 %. The express alternative, whose code has not changed, ranged
 * 0.625–0.950 ms per request and 1126–1896 req/s over the last ten full runs in RESULTS.md's
 * history, and the BFF at the production defaults 0.090–0.138 ms.
 */
export const NOISE_BAND = 0.2;
/** "No IdP call per request once cached": the client-token BFF's token requests over its whole life, at most. */
export const CLIENT_TOKEN_MAX_IDP_CALLS = 3;

/** The figures of one row of the last tracked RESULTS.md. */
export interface BaselineRow {
  readonly rps: number;
  readonly cpuMsPerRequest: number;
}

/** `bench/RESULTS.md` as it was before this run: what "the last run" measured. */
export interface Baseline {
  /** `2026-12-07 22:05 UTC, commit afc2ac7`, from its first line. */
  readonly written: string;
  /** Fast upstream, 50 connections. */
  readonly bff: BaselineRow;
  readonly express?: BaselineRow;
  readonly bare?: BaselineRow;
}

/** Reads the fast-upstream, 50-connection rows of a RESULTS.md; `undefined` when it has none. */
export function parseBaseline(markdown: string): Baseline | undefined {
  const written = /(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC), commit ([^,]+?), run time/.exec(markdown);
  const rows = new Map<string, BaselineRow>();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    // | upstream | conns | scenario | req/s | range | p50 | p99 | CPU ms/req | peak RSS |
    if (cells.length < 11 || cells[1] !== 'fast' || cells[2] !== '50') continue;
    const scenario = (cells[3] ?? '').replaceAll('**', '');
    const rps = Number(cells[4]);
    const cpu = Number(cells[8]);
    if (Number.isFinite(rps) && Number.isFinite(cpu) && !rows.has(scenario)) {
      rows.set(scenario, { rps, cpuMsPerRequest: cpu });
    }
  }
  const bff = rows.get(BFF_DEFAULTS);
  if (!bff) return undefined;
  const express = rows.get('express alternative');
  const bare = rows.get(BARE);
  return {
    written: written ? `${written[1]}, commit ${written[2]}` : 'date unknown',
    bff,
    ...(express ? { express } : {}),
    ...(bare ? { bare } : {}),
  };
}

/** What the client-token BFF forwarded and how often it asked the IdP. */
export interface ClientTokenCheck {
  /** Claims of the bearer the upstream's `/echo` received. */
  readonly sub: string;
  readonly scp: readonly string[];
  readonly clientId: string;
  /**
   * Token-endpoint requests with `grant_type=client_credentials` (granted or refused) the embedded
   * IdP received, over the whole life of the BFF process, and during the matrix alone.
   */
  readonly idpCalls: number;
  readonly idpCallsInMatrix: number;
  /** 2xx `/api` answers the bench counted from it (check, warm-up and matrix). */
  readonly answered: number;
}

/** The 10-route BFF's table, as configured. */
export interface TenRoutesInfo {
  /** Every prefix, in `API_ROUTES` order. */
  readonly prefixes: readonly string[];
  /** The route the load hits, its place in the list (1-based) and the prefixes a lookup tries up to it. */
  readonly loadPrefix: string;
  readonly listPosition: number;
  readonly prefixesTried: number;
}

export interface WebSocketResults {
  /** Sessions signed in (a session may hold at most `perSessionLimit` sockets at the BFF). */
  readonly sessions: number;
  readonly perSessionLimit: number;
  /** The ws upstream's `/handshake` through the BFF: what its handshake carried. */
  readonly check: {
    readonly bearer: boolean;
    readonly cookieForwarded: boolean;
    /** The bearer's `sub` is the one the same session's HTTP `/api/echo` forwards. */
    readonly sameSubAsHttp: boolean;
  };
  readonly direct: WebSocketRun;
  readonly bff: WebSocketRun;
}

export interface RoutesRun {
  readonly baseline?: Baseline;
  /** Length of the session `Cookie` header every BFF scenario (and now the bare proxy) is sent. */
  readonly cookieBytes?: number;
  readonly tenRoutes?: TenRoutesInfo;
  readonly clientToken?: ClientTokenCheck;
  readonly webSockets?: WebSocketResults;
}

/** The medians of one matrix cell that these sections show. */
export interface CellFigures {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerRequest: number;
  readonly peakRss: number;
}
type Get = (scenario: string, upstream: string, connections: number) => CellFigures | undefined;

const MB = 1024 * 1024;
const KB = 1024;
const fixed = (value: number | undefined, digits: number) =>
  value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '–';
const count = (n: number) => n.toLocaleString('en');

/** Per message: CPU over the window divided by the messages that crossed it, both ways. */
const usPerMessage = (cpuMs: number, run: WebSocketRun) => (cpuMs * 1000) / (run.sent + run.received);
const kbPerSocket = (from: number, to: number, sockets: number) => (to - from) / KB / sockets;

/** The Targets rows: the single-route BFF against the last run, the 10-route table, the client token, WebSockets. */
export function routesTargetRows(run: RoutesRun, get: Get, quick: boolean): TargetRow[] {
  const bff = get(BFF_DEFAULTS, 'fast', 50);
  return [
    singleRouteRow(run, bff, get('express alternative', 'fast', 50), quick),
    tenRoutesRow(run, bff, get(BFF_TEN_ROUTES, 'fast', 50)),
    clientTokenRow(run, bff, get(BFF_CLIENT_TOKEN, 'fast', 50)),
    webSocketsRow(run),
  ];
}

/** The single-route BFF against the last tracked RESULTS.md: CPU and req/s, both within noise. */
function singleRouteRow(
  run: RoutesRun,
  bff: CellFigures | undefined,
  express: CellFigures | undefined,
  quick: boolean,
): TargetRow {
  const target = `the single-route BFF (${BFF_DEFAULTS}) must not get slower: CPU per proxied request and req/s within noise (±${NOISE_BAND * 100} %) of the last RESULTS.md`;
  const bound = `${1 - NOISE_BAND}–${1 + NOISE_BAND}×`;
  const figures = [
    {
      id: 'single-route-cpu-vs-last',
      label: `single-route BFF CPU per request ÷ the last RESULTS.md's (${bound})`,
      unit: '×',
      digits: 2,
    },
    {
      id: 'single-route-rps-vs-last',
      label: `single-route BFF req/s ÷ the last RESULTS.md's (${bound})`,
      unit: '×',
      digits: 2,
    },
  ] as const;
  const base = run.baseline;
  if (!bff) return notMeasuredRow(target, figures);
  if (!base) {
    return {
      ...notMeasuredRow(target, figures),
      measured: 'no earlier RESULTS.md to compare with',
    };
  }
  const cpu = bff.cpuMsPerRequest / base.bff.cpuMsPerRequest;
  const rps = bff.rps / base.bff.rps;
  const drift =
    express && base.express
      ? `; the express alternative, unchanged, in the same runs: ${fixed(express.cpuMsPerRequest, 3)} vs ${fixed(base.express.cpuMsPerRequest, 3)} ms = ${fixed(express.cpuMsPerRequest / base.express.cpuMsPerRequest, 2)}×, a measure of the machine's drift`
      : '';
  return {
    target,
    measured: `today ${fixed(bff.cpuMsPerRequest, 3)} ms and ${fixed(bff.rps, 0)} req/s; last (${base.written}) ${fixed(base.bff.cpuMsPerRequest, 3)} ms and ${fixed(base.bff.rps, 0)} req/s: CPU **${fixed(cpu, 2)}×**, req/s **${fixed(rps, 2)}×**${drift}${quick ? ' (a quick run against a full one: indicative only)' : ''}`,
    result: judge(cpu <= 1 + NOISE_BAND && rps >= 1 - NOISE_BAND),
    figures: [
      { ...figures[0], value: cpu },
      { ...figures[1], value: rps },
    ],
  };
}

/** The 10-route table against the single route: the lookup's cost, reported. */
function tenRoutesRow(run: RoutesRun, bff: CellFigures | undefined, ten: CellFigures | undefined): TargetRow {
  const target = `10-route table (lookup cost): ${BFF_TEN_ROUTES} against ${BFF_DEFAULTS}, no target`;
  const figures = [
    {
      id: 'ten-routes-rps-vs-one',
      label: '10-route BFF req/s ÷ single-route (no target)',
      unit: '×',
      digits: 2,
    },
    {
      id: 'ten-routes-cpu-vs-one',
      label: '10-route BFF CPU per request ÷ single-route (no target)',
      unit: '×',
      digits: 2,
    },
  ] as const;
  if (!bff || !ten) return notMeasuredRow(target, figures);
  const tried = run.tenRoutes
    ? ` (the load's route is tried ${ordinal(run.tenRoutes.prefixesTried)} of ${run.tenRoutes.prefixes.length})`
    : '';
  const rps = ten.rps / bff.rps;
  const cpu = ten.cpuMsPerRequest / bff.cpuMsPerRequest;
  return {
    target,
    measured: `${fixed(ten.rps, 0)} vs ${fixed(bff.rps, 0)} req/s = **${fixed(rps, 2)}×**, CPU ${fixed(ten.cpuMsPerRequest, 3)} vs ${fixed(bff.cpuMsPerRequest, 3)} ms = **${fixed(cpu, 2)}×** (${signedUs(ten.cpuMsPerRequest - bff.cpuMsPerRequest)} per request)${tried}`,
    result: 'reported',
    figures: [
      { ...figures[0], value: rps },
      { ...figures[1], value: cpu },
    ],
  };
}

/** The client-token BFF's token requests at the IdP over its life. */
function clientTokenRow(
  run: RoutesRun,
  bff: CellFigures | undefined,
  client: CellFigures | undefined,
): TargetRow {
  const target = `client-token route (no IdP call per request once cached): token requests to the IdP ≤ ${CLIENT_TOKEN_MAX_IDP_CALLS} over the BFF's life`;
  const figure = {
    id: 'client-token-idp-calls',
    label: `client-token BFF's token requests to the IdP (≤ ${CLIENT_TOKEN_MAX_IDP_CALLS})`,
    unit: '',
    digits: 0,
  } as const;
  const check = run.clientToken;
  if (!client || !bff || !check) return notMeasuredRow(target, [figure]);
  return {
    target,
    measured: `**${count(check.idpCalls)}** \`client_credentials\` request(s) at the IdP for ${count(check.answered)} \`/api\` answers (${count(check.idpCallsInMatrix)} during the matrix); ${fixed(client.rps, 0)} vs ${fixed(bff.rps, 0)} req/s = ${fixed(client.rps / bff.rps, 2)}×, CPU ${fixed(client.cpuMsPerRequest, 3)} vs ${fixed(bff.cpuMsPerRequest, 3)} ms = ${fixed(client.cpuMsPerRequest / bff.cpuMsPerRequest, 2)}× the user-token BFF`,
    result: judge(check.idpCalls <= CLIENT_TOKEN_MAX_IDP_CALLS),
    figures: [{ ...figure, value: check.idpCalls }],
  };
}

/** WebSockets through the BFF against a direct connection: RSS per socket and CPU per message, reported. */
function webSocketsRow(run: RoutesRun): TargetRow {
  const target =
    'WebSockets: 1,000 open sockets, RSS per socket and CPU per message against a direct connection, no target';
  const figures = [
    {
      id: 'websocket-bff-kb-per-socket',
      label: 'WebSockets: BFF RSS per open socket (no target)',
      unit: 'KB',
      digits: 1,
    },
    {
      id: 'websocket-bff-us-per-message',
      label: 'WebSockets: BFF CPU per message relayed (no target)',
      unit: 'µs',
      digits: 1,
    },
  ] as const;
  const ws = run.webSockets;
  if (!ws) return notMeasuredRow(target, figures);
  const { bff: viaBff, direct } = ws;
  const upstreamUs = viaBff.upstream ? usPerMessage(viaBff.upstream.windowCpuMs, viaBff) : Number.NaN;
  const kbOpen = kbPerSocket(viaBff.server.rssBefore, viaBff.server.rssOpen, viaBff.sockets);
  const usRelayed = usPerMessage(viaBff.server.windowCpuMs, viaBff);
  return {
    target,
    measured:
      `${count(viaBff.sockets)} sockets: BFF **${fixed(kbOpen, 1)} KB** RSS per socket open (${fixed(kbPerSocket(viaBff.server.rssBefore, viaBff.server.rssAfter, viaBff.sockets), 1)} KB after the messages), ` +
      `direct: the ws server's ${fixed(kbPerSocket(direct.server.rssBefore, direct.server.rssOpen, direct.sockets), 1)} KB (${fixed(kbPerSocket(direct.server.rssBefore, direct.server.rssAfter, direct.sockets), 1)} KB); ` +
      `BFF **${fixed(usRelayed, 1)} µs** CPU per message relayed (the upstream behind it: ${fixed(upstreamUs, 1)} µs), direct: the ws server's ${fixed(usPerMessage(direct.server.windowCpuMs, direct), 1)} µs`,
    result: 'reported',
    figures: [
      { ...figures[0], value: kbOpen },
      { ...figures[1], value: usRelayed },
    ],
  };
}

/** `+3.2 µs` from a difference in ms. */
function signedUs(ms: number): string {
  const us = ms * 1000;
  return `${us >= 0 ? '+' : '−'}${fixed(Math.abs(us), 1)} µs`;
}

/** "Routed APIs": the three BFFs side by side per cell, the client token's evidence, the bare proxy with and without the cookie. */
export function routesSection(run: RoutesRun, get: Get): string[] {
  const lines = [
    '',
    '## Routed APIs',
    '',
    `Three BFF processes, same build, production defaults (LOG_LEVEL=info, cookie store), the same session cookie: **${BFF_DEFAULTS}** (\`API_UPSTREAM_URL\`, one route \`/api\`, user token), ` +
      `**${BFF_TEN_ROUTES}** (\`API_ROUTES\` of ten routes, user token on the one the load hits) and **${BFF_CLIENT_TOKEN}** (\`API_ROUTES\`, one route \`/api\`, \`token: "client"\`, scopes \`items:stats\`, session required). ` +
      'Fast upstream, 1 and 50 connections, interleaved with the other scenarios. Ratios in brackets are to the single-route BFF in the same cell.',
  ];
  const columns: [string, string][] = [
    [BFF_TEN_ROUTES, '10 routes'],
    [BFF_CLIENT_TOKEN, 'client token'],
  ];
  let any = false;
  for (const connections of [1, 10, 50]) {
    const plain = get(BFF_DEFAULTS, 'fast', connections);
    const others = columns.map(([scenario]) => get(scenario, 'fast', connections));
    if (!plain || others.every((s) => s === undefined)) continue;
    any = true;
    lines.push(
      '',
      `### fast upstream, ${connections} connection${connections === 1 ? '' : 's'}`,
      '',
      ...sideBySideTable(
        'single route',
        plain,
        columns.map(([, label], i) => [label, others[i]] as const),
      ),
    );
  }
  if (!any) lines.push('', 'Not measured in this run.');

  const ten = run.tenRoutes;
  if (ten) {
    lines.push(
      '',
      `**The 10-route table**, in \`API_ROUTES\` order: ${ten.prefixes.map((p) => `\`${p}\``).join(', ')}. ` +
        `The load (\`/api/items\`) and the \`/echo\` check go to \`${ten.loadPrefix}\`, ${ordinal(ten.listPosition)} in the list; the BFF tries the longest prefix first, so a lookup compares the path with ${ten.prefixesTried} prefixes before it matches, ` +
        "three of which begin like it (`/api/item` matches as a string and is refused at the boundary, `/api/items-archive` and `/api/items/export` are longer). The decoys are never requested. The table's lookup is the only difference from the single-route BFF's work: the same token, upstream and path.",
    );
  }
  const check = run.clientToken;
  if (check) {
    lines.push(
      '',
      `**The client-token route**: before measuring, the upstream's \`/echo\` received a bearer whose \`sub\` is \`${check.sub}\` (the BFF's client id${check.sub === check.clientId ? '' : `, expected \`${check.clientId}\``}) and whose \`scp\` is ${check.scp.map((s) => `\`${s}\``).join(', ')}, and neither \`Cookie\` nor \`X-CSRF\`. ` +
        `The embedded IdP (in the orchestrator) counted ${count(check.idpCalls)} token request(s) with \`grant_type=client_credentials\`, granted or refused, over the BFF process's life, ${count(check.idpCallsInMatrix)} of them during the matrix, for ${count(check.answered)} 2xx \`/api\` answers: ` +
        'the token is asked for once, at the first request, and reused until shortly before it expires (the dev IdP issues it for an hour). More than ' +
        `${CLIENT_TOKEN_MAX_IDP_CALLS} would have aborted the run.`,
    );
  }
  const bare = get(BARE, 'fast', 50);
  const bareNoCookie = get(BARE_NO_COOKIE, 'fast', 50);
  const bff = get(BFF_DEFAULTS, 'fast', 50);
  if (bare && bareNoCookie && bff) {
    lines.push(
      '',
      `**The bare proxy, like for like**: it is sent the BFF's request headers, \`Cookie\` (the sealed session${run.cookieBytes ? `, ${count(run.cookieBytes)} bytes` : ''}) and \`X-CSRF: 1\`, and forwards them as they are; in runs before this one it was sent neither. ` +
        `At 50 connections on the fast upstream: ${fixed(bare.cpuMsPerRequest, 3)} ms per request with them, ${fixed(bareNoCookie.cpuMsPerRequest, 3)} ms without (${fixed(bare.rps, 0)} and ${fixed(bareNoCookie.rps, 0)} req/s). ` +
        `The BFF's ${fixed(bff.cpuMsPerRequest, 3)} ms is ${fixed(bff.cpuMsPerRequest / bare.cpuMsPerRequest, 2)}× the first (the target's comparison) and ${fixed(bff.cpuMsPerRequest / bareNoCookie.cpuMsPerRequest, 2)}× the second (the comparison of earlier runs).`,
    );
  }
  return lines;
}

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return `${n}${teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;
}

/** "WebSockets": the BFF against a direct connection, phase by phase. */
export function webSocketSection(run: RoutesRun): string[] {
  const ws = run.webSockets;
  const lines = ['', '## WebSockets', ''];
  if (!ws) return [...lines, 'Not measured in this run.'];
  const { bff, direct } = ws;
  const perSecond = (r: WebSocketRun) => (r.sent + r.received) / (r.windowMs / 1000);
  lines.push(
    `${count(bff.sockets)} client sockets opened from the orchestrator (\`ws\`, no compression), each sending a ${bff.payloadBytes}-byte JSON text message every ${bff.intervalMs} ms (spread evenly over the interval), echoed by the ws upstream (\`bench/servers/ws-upstream.ts\`, its own process). ` +
      `**direct**: the sockets go straight to the ws upstream. **through the BFF**: a BFF at the production defaults (LOG_LEVEL=info, cookie store) with a \`"websocket": true\` route \`/api/live\` to the ws upstream; each handshake carries a session cookie and \`Origin\` the BFF's public origin, and the BFF opens the upstream socket with the session's bearer. ` +
      `The BFF allows ${ws.perSessionLimit} sockets per session, so the sockets share ${ws.sessions} sessions, each from a full sign-in, round robin. ` +
      'RSS is read before opening (after a warm-up of a few sockets), one second after the last socket opened, and at the end of the message window (peak sampled in between); per socket is the growth divided by the sockets. ' +
      "CPU per message is the process's user + system time over the window (and the drain of the last echoes) divided by the messages that crossed it: the clients' messages plus the echoes, so each relayed frame counts once, in either direction. Every message must come back and no socket may close, or the run aborts.",
    '',
    '| | direct | through the BFF |',
    '|---|---:|---:|',
  );
  const up = bff.upstream;
  const row = (label: string, a: string, b: string) => lines.push(`| ${label} | ${a} | ${b} |`);
  row('sockets', count(direct.sockets), count(bff.sockets));
  row('time to open them all, s', fixed(direct.openMs / 1000, 2), fixed(bff.openMs / 1000, 2));
  row(
    'CPU per handshake, ms (the process holding the sockets)',
    fixed(direct.server.openCpuMs / direct.sockets, 3),
    `${fixed(bff.server.openCpuMs / bff.sockets, 3)} (upstream ${fixed((up?.openCpuMs ?? Number.NaN) / bff.sockets, 3)})`,
  );
  row(
    'RSS before → open → after the messages, MB',
    `${fixed(direct.server.rssBefore / MB, 1)} → ${fixed(direct.server.rssOpen / MB, 1)} → ${fixed(direct.server.rssAfter / MB, 1)}`,
    `${fixed(bff.server.rssBefore / MB, 1)} → ${fixed(bff.server.rssOpen / MB, 1)} → ${fixed(bff.server.rssAfter / MB, 1)}`,
  );
  row(
    'peak RSS during the messages, MB',
    fixed(direct.server.rssPeak / MB, 1),
    fixed(bff.server.rssPeak / MB, 1),
  );
  row(
    '**RSS per socket, open**, KB',
    fixed(kbPerSocket(direct.server.rssBefore, direct.server.rssOpen, direct.sockets), 1),
    `**${fixed(kbPerSocket(bff.server.rssBefore, bff.server.rssOpen, bff.sockets), 1)}** (upstream ${fixed(up ? kbPerSocket(up.rssBefore, up.rssOpen, bff.sockets) : Number.NaN, 1)})`,
  );
  row(
    'RSS per socket, after the messages, KB',
    fixed(kbPerSocket(direct.server.rssBefore, direct.server.rssAfter, direct.sockets), 1),
    `${fixed(kbPerSocket(bff.server.rssBefore, bff.server.rssAfter, bff.sockets), 1)} (upstream ${fixed(up ? kbPerSocket(up.rssBefore, up.rssAfter, bff.sockets) : Number.NaN, 1)})`,
  );
  row('message window, s', fixed(direct.windowMs / 1000, 1), fixed(bff.windowMs / 1000, 1));
  row(
    'messages sent / echoed',
    `${count(direct.sent)} / ${count(direct.received)}`,
    `${count(bff.sent)} / ${count(bff.received)}`,
  );
  row('messages per second, both ways', fixed(perSecond(direct), 0), fixed(perSecond(bff), 0));
  row(
    '**CPU per message**, µs',
    `ws server ${fixed(usPerMessage(direct.server.windowCpuMs, direct), 1)}`,
    `BFF **${fixed(usPerMessage(bff.server.windowCpuMs, bff), 1)}**, upstream ${fixed(up ? usPerMessage(up.windowCpuMs, bff) : Number.NaN, 1)}`,
  );
  row(
    'CPU over the window, % of one core',
    `ws server ${fixed((direct.server.windowCpuMs / direct.windowMs) * 100, 0)}`,
    `BFF ${fixed((bff.server.windowCpuMs / bff.windowMs) * 100, 0)}, upstream ${fixed(up ? (up.windowCpuMs / bff.windowMs) * 100 : Number.NaN, 0)}`,
  );
  row(
    'load generator (the orchestrator) CPU, % of one core',
    fixed((direct.loadGenCpuMs / direct.windowMs) * 100, 0),
    fixed((bff.loadGenCpuMs / bff.windowMs) * 100, 0),
  );
  if (up) {
    const bffShare = bff.server.windowCpuMs / (bff.server.windowCpuMs + up.windowCpuMs);
    lines.push(
      '',
      `Through the BFF, the BFF's share of the two servers' CPU over the window is ${fixed(bffShare * 100, 0)} %; ` +
        `per message it costs ${fixed(usPerMessage(bff.server.windowCpuMs, bff) / usPerMessage(direct.server.windowCpuMs, direct), 2)}× what the echo server alone spends on a direct connection (the BFF reads and writes each frame twice, once per side).`,
    );
  }
  const c = ws.check;
  lines.push(
    '',
    `Before measuring, a socket through the BFF to the ws upstream's \`/handshake\` saw its handshake carry ${c.bearer ? '`Authorization: Bearer …`' : 'no bearer'}, ` +
      `${c.sameSubAsHttp ? "whose `sub` is the one the same session's `/api/echo` forwards" : "with another `sub` than the same session's `/api/echo` forwards"}, and ${c.cookieForwarded ? 'the `Cookie` header' : 'no `Cookie`'}.`,
  );
  return lines;
}

export const ROUTES_SETUP_NOTES = [
  `- **${BARE}** is sent the same \`Cookie\` and \`X-CSRF: 1\` headers as the BFF (like for like) and forwards them; **${BARE_NO_COOKIE}** is the same process sent no header, as in runs before this one (fast upstream, 50 connections only).`,
  `- **${BFF_TEN_ROUTES}**, **${BFF_CLIENT_TOKEN}**: the **${BFF_DEFAULTS}** process with \`API_ROUTES\` instead of \`API_UPSTREAM_URL\`: ten routes with the load on \`/api\`, tried last; or one route \`/api\` with \`token: "client"\` and \`scopes: ["items:stats"]\` (the dev IdP's custom scope; the default dev client may use client credentials). Same session cookie as the others. Fast upstream, 1 and 50 connections; stopped after the matrix.`,
  '- **WebSockets**: a BFF at the production defaults with `API_ROUTES` `/api` (the HTTP upstream) and `/api/live` (`"websocket": true`, the ws upstream); the ws upstream (`bench/servers/ws-upstream.ts`, `ws`, echo) is its own process, measured alone for the direct case and beside the BFF otherwise.',
];
