/**
 * One load run with autocannon's programmatic API, and the server's own CPU time and peak RSS
 * over it. Latency percentiles are computed here from autocannon's per-response times (float
 * milliseconds): its built-in histogram rounds to whole milliseconds, too coarse for a
 * sub-millisecond loopback hop.
 */
import autocannon from 'autocannon';
import { type Child, sampleRss } from './processes.ts';

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  /** Seconds; or a fixed number of requests with `amount`. */
  readonly durationS?: number;
  readonly amount?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus socket errors and timeouts: must be 0 for a valid run. */
  readonly failures: number;
  /** What the failures were, e.g. `401 × 12, 3 socket errors`; only when there were any. */
  readonly failureKinds?: string;
  readonly elapsedS: number;
}

export interface MeasuredLoad extends LoadResult {
  /** The measured server's CPU (user + system) per 2xx request, in ms; NaN without a server. */
  readonly cpuMsPerRequest: number;
  /** Peak RSS of the measured server during the run, in bytes; NaN without a server. */
  readonly peakRss: number;
  /**
   * CPU (user + system) per 2xx request, in ms, of a process the server depends on (the
   * `redis-server` of a `SESSION_STORE=redis` BFF); only when one was given.
   */
  readonly storeCpuMsPerRequest?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

function describeFailures(statuses: ReadonlyMap<number, number>, errors: number, timeouts: number): string {
  return [
    ...[...statuses].map(([status, count]) => `${status} × ${count}`),
    ...(errors > 0 ? [`${errors} socket errors`] : []),
    ...(timeouts > 0 ? [`${timeouts} timeouts`] : []),
  ].join(', ');
}

/** Runs autocannon against `url` and returns throughput, latency and failure counts. */
export function runLoad({
  url,
  connections,
  durationS,
  amount,
  headers = {},
}: LoadOptions): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let failures = 0;
  const failedStatuses = new Map<number, number>();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        headers: { ...headers },
        ...(amount === undefined ? { duration: durationS ?? 5 } : { amount }),
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsedS = (performance.now() - started) / 1000;
        const sorted = latencies.slice(0, count).sort();
        resolve({
          requests: count,
          rps: count / (result.duration || elapsedS),
          p50Ms: percentile(sorted, 0.5),
          p99Ms: percentile(sorted, 0.99),
          failures: failures + result.errors + result.timeouts,
          ...(failures + result.errors + result.timeouts > 0
            ? { failureKinds: describeFailures(failedStatuses, result.errors, result.timeouts) }
            : {}),
          elapsedS,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode < 200 || statusCode > 299) {
        failures++;
        failedStatuses.set(statusCode, (failedStatuses.get(statusCode) ?? 0) + 1);
        return;
      }
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
}

/**
 * {@link runLoad}, with `server`'s CPU time and RSS read around and during it, and the CPU time
 * of `store` (the process behind the server's session store, if any) read around it.
 */
export async function measureLoad(
  options: LoadOptions,
  server: Child | undefined,
  store?: Child,
): Promise<MeasuredLoad> {
  const rss = server ? sampleRss(server) : undefined;
  const cpuBefore = server?.cpuMs() ?? 0;
  const storeCpuBefore = store?.cpuMs() ?? 0;
  const result = await runLoad(options);
  const cpuAfter = server?.cpuMs() ?? 0;
  const storeCpuAfter = store?.cpuMs() ?? 0;
  const peakRss = rss?.stop() ?? Number.NaN;
  const perRequest = (ms: number) => ms / Math.max(1, result.requests);
  return {
    ...result,
    cpuMsPerRequest: server ? perRequest(cpuAfter - cpuBefore) : Number.NaN,
    peakRss,
    ...(store ? { storeCpuMsPerRequest: perRequest(storeCpuAfter - storeCpuBefore) } : {}),
  };
}
