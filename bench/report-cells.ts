/**
 * The matrix cells every section of RESULTS.md reads: the scenarios' names, each cell's medians and
 * their lookup, and the number formats.
 */
import type { Cell, RunReport } from './report.ts';

export const MB = 1024 * 1024;

/** The production defaults (`pnpm start` as is), the LOG_LEVEL=warn process, and the Redis store. */
export const BFF_DEFAULTS = 'bff, LOG_LEVEL=info';
export const BFF_WARN = 'bff';
export const BFF_REDIS = 'bff, SESSION_STORE=redis';
/** The production defaults plus one setting each: `METRICS_PORT`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `API_TOKEN_TYPE=dpop`. */
export const BFF_METRICS = 'bff + metrics';
export const BFF_TRACING = 'bff + tracing';
/** Tracing on as production runs it: `OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`. */
export const BFF_TRACING_SAMPLED = 'bff + tracing, 10 % sampled';
export const BFF_DPOP = 'bff, API_TOKEN_TYPE=dpop';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export interface Summary {
  readonly rps: number;
  readonly rpsMin: number;
  readonly rpsMax: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerRequest: number;
  readonly peakRss: number;
  /** redis-server's CPU per request, for a Redis-store scenario; NaN otherwise. */
  readonly storeCpuMsPerRequest: number;
}

export function summarize(cell: Cell): Summary {
  const rps = cell.runs.map((r) => r.rps);
  return {
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    p50Ms: median(cell.runs.map((r) => r.p50Ms)),
    p99Ms: median(cell.runs.map((r) => r.p99Ms)),
    cpuMsPerRequest: median(cell.runs.map((r) => r.cpuMsPerRequest)),
    peakRss: Math.max(...cell.runs.map((r) => r.peakRss)),
    storeCpuMsPerRequest: median(cell.runs.map((r) => r.storeCpuMsPerRequest ?? Number.NaN)),
  };
}

export const fixed = (value: number, digits: number) =>
  Number.isFinite(value) ? value.toFixed(digits) : '–';
export const mb = (bytes: number) => fixed(bytes / MB, 1);
export const nan = Number.NaN;

export type Get = (scenario: string, upstream: string, connections: number) => Summary | undefined;

/** The medians of each matrix cell, by scenario, upstream and connections. */
export function cellLookup(report: RunReport): Get {
  const summaries = new Map(
    report.cells.map((cell) => [`${cell.scenario}|${cell.upstream}|${cell.connections}`, summarize(cell)]),
  );
  return (scenario, upstream, connections) => summaries.get(`${scenario}|${upstream}|${connections}`);
}

/** What a side-by-side table shows of a load cell. */
export type LoadFigures = Pick<Summary, 'rps' | 'p50Ms' | 'p99Ms' | 'cpuMsPerRequest' | 'peakRss'>;

/**
 * A side-by-side table of one cell: `base` under `baseLabel`, then each of `columns` (label and
 * figures, `undefined` when not measured) with its ratio to `base` in brackets.
 */
export function sideBySideTable(
  baseLabel: string,
  base: LoadFigures,
  columns: readonly (readonly [label: string, figures: LoadFigures | undefined])[],
): string[] {
  const row = (label: string, value: (s: LoadFigures) => number, digits: number) => {
    const cells = columns.map(([, s]) =>
      s ? `${fixed(value(s), digits)} (${fixed(value(s) / value(base), 2)}×)` : '–',
    );
    return `| ${label} | ${fixed(value(base), digits)} | ${cells.join(' | ')} |`;
  };
  return [
    `| | ${baseLabel} | ${columns.map(([label]) => label).join(' | ')} |`,
    `|---|---:|${columns.map(() => '---:').join('|')}|`,
    row('req/s', (s) => s.rps, 0),
    row('p50 ms', (s) => s.p50Ms, 2),
    row('p99 ms', (s) => s.p99Ms, 2),
    row('BFF CPU ms/req', (s) => s.cpuMsPerRequest, 3),
    row('peak RSS MB', (s) => s.peakRss / MB, 1),
  ];
}
